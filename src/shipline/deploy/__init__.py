"""Rolling deploys: the plan (pure) and its execution over SSH."""
