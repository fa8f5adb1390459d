"""The ground truth and the images: NATS-Bench accuracy tables (:mod:`.tables`), image minibatches
(:mod:`.images`), the importers that build our data files (:mod:`.importers`) and the data check (:mod:`.check`).
"""
