"""The weekly rounds: model, solver, travel, week versions, outputs, feedback."""
