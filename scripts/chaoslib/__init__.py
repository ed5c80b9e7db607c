"""chaoslib - the parts of scripts/chaos: photos (the generated set), system
(the stack, intake, workers, proxies and retry passes it runs), uploads (anonctl
upload and curl, retried as a user would), faults (the schedule) and check
(what is verified from outside the programs at the end)."""
