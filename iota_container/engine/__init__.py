"""The engine: registered datasets, their versions, and the run of one version.

home.py          IOTA_HOME and the output root
state_store.py   StateStore: the SQLite state (registrations, versions, claims)
store_schema.py  its migrations; a reserve against full disks
records.py       rows as records: RegisteredDataset, Version, Trigger, modes, statuses
locks.py         one run of a dataset at a time
resolve.py       this run's variables → the params document
run.py           DatasetEngine: claim, create one content version, finish it; the
                 analysis goes to an executor (iota_container.executors)
executor_runs.py a version's executor, run id and node; retries; following after a crash
query_source.py  a SQL dataset's content from its x-iota-source (until data stores land)
retention.py     versioningConfiguration and retentionPeriod after each run
full_disk.py     full disks: what a run leaves, and what it says
"""
