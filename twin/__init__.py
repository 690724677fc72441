"""The model held against running software: a federation of reference operators on loopback
(:mod:`yzt.twin.federation`) and a platform fan-out client that follows the model's rules
(:mod:`yzt.twin.fanout`)."""

#: Seeded model defects (``yzt twin --model-defect``, hidden): each must make the comparison fail.
DEFECTS = ("retries-ignored", "pool-one-smaller", "timeouts-release")
