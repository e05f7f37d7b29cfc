"""The RabbitMQ bus: topology as code, confirmed publishing, consumers with manual acks."""
