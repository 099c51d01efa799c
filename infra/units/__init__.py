"""One construct per deployed unit, named like the folder it deploys (not "constructs": that
name would shadow the constructs library when cdk runs infra/app.py as a script)."""
