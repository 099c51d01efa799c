"""AWS adapters: the SNS alert sink and the Secrets Manager users store (boto3 is imported
only when one is built).

The S3 lake (``meterwatch.storage.s3``) stays a storage backend of the core, chosen by the
lake's URI; it too imports boto3 only when an S3 lake is opened.
"""
