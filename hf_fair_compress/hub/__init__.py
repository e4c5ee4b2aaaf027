"""Model cards and pushing compressed models with their audits to the Hugging Face Hub."""
