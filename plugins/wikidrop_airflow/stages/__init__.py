"""Task builders, one module per pipeline stage; ``dag_factory`` wires them in order.

Each ``add_*`` function creates its stage's tasks inside the current DAG and returns the XComArg
carrying that stage's contract (see docs/architecture.md, "Stage contracts").
"""
