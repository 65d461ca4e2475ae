"""`k0s-policy upgrade --to VERSION`: is this upgrade safe, and if not, what to do first, in order.

One job per module: ``current`` (which release the cluster runs, and who says so), ``path`` (one
minor at a time), ``bundles`` (what the bundles a k0sctl file uploads hold), ``steps`` (every check
of one step), ``autopilot`` (a Plan for a step), ``remediation`` (the ordered actions), ``flow``
(the run) and ``model`` (what the reports print).
"""
