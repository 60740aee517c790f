"""The conversation engine: one turn (state -> NLU -> policy -> actions -> replies), the policy and the
live-reload holders. Actions are injected; nothing here imports a concrete action or adapter."""
