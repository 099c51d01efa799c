"""One construct per deployed unit, named like the folder it deploys."""
