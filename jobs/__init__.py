"""Background jobs. Job functions take ids (never ORM objects), reload what they need, and run
inside an app context: on an RQ worker started by ``flask worker``, or in-process without Redis."""
