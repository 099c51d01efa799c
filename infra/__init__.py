"""meterwatch's AWS deployment (CDK): one construct per unit, a stack that composes them."""
