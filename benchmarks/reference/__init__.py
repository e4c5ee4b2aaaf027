"""Reference world: a GPT-2-architecture LM and a Detoxify-format toxicity scorer trained offline on real data."""
