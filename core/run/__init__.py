"""Running a profile: the run controller (:mod:`.controller`) and its multi-task form (:mod:`.multitask`)."""
