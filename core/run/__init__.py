"""Running a profile: the lifecycle every run and search shares (:mod:`.lifecycle`), the run controller
(:mod:`.controller`), its multi-task form (:mod:`.multitask`) and the factory that picks the form (:mod:`.factory`)."""
