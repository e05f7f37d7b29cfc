"""What the counterpart adapters share: failure types, outbound HTTP calls with retries, SOAP
1.1 wrapping, StUF 0301 stuurgegevens and foutberichten, reference numbers."""
