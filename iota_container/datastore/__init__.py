"""Data stores and the SQL datasets that query them, as IoT Analytics ran them.

  definition.py     the CreateDatastore request (or its CloudFormation resource) as a model
  service_shapes.py the request's shapes from the service model, and the checks they make
  layout.py         where a store's messages live: its root, `__dt` and partition folders
  state.py          their own connection to the engine's state database
  registry.py       registered data stores (migration 5)
  put.py            `datastore put`: messages appended as one new object per partition
  filesystems.py    DuckDB without downloads: s3:// through pyarrow's file system
  translate.py      sqlQuery and timeExpression, Presto to DuckDB through sqlglot
  delta_window.py   each run's deltaTime window, recorded on its version
  query.py          the query on DuckDB over the stores' files, streamed to CSV
  translations.py   translations kept in the state database: a known query needs no sqlglot
  late_data.py      lateDataRules: late messages counted, sessions sent to EventBridge
  delivery.py       contentDeliveryRules after each SUCCEEDED version, outcomes recorded
  delivery_glue.py, delivery_iotevents.py   the Glue table; rows to an IoT Events input

DuckDB, sqlglot and pyarrow are the `sql` extra, imported only when a query runs or a
message is put: `pip install 'iota-container[sql]'`.
"""
