from iota_container.cli import main

main(prog_name="iota-container")
