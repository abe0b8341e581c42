"""Business policy: pydantic models in the domain core, stored by `mezame.policy.service`."""
