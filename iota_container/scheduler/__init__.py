"""`iota-container scheduler`: runs what is due, from schedules and upstream versions.

due.py     what a dataset has to run next; --latest-only skips
loop.py    the loop: claims in order, workers, waiting, stopping
runners.py what the loop hands due triggers to: the Runner protocol, the engine's runner
clock.py   the system's time, or a file's (IOTA_SCHEDULER_CLOCK_FILE)
"""
