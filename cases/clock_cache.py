"""The cache keys of what the turnaround clock reads: the hospital's closures and the
policy. Shared by the model that caches the policy (``TurnaroundPolicy.current``) and by
``cases.clock``, which caches the closures and drops both when they are edited; it imports
nothing, so the models can import it."""

# The keys' versions change if their shape does.
CLOSURES_KEY = "clock:closures:v1"
POLICY_KEY = "clock:policy:v1"
CACHE_SECONDS = 3600
