namespace Turn.Configuration;

internal sealed record TlsOptions
{
    /// <summary>PEM certificate chain; TLS listens only when it is set.</summary>
    public string? CertificateFile { get; init; }

    /// <summary>PEM private key; may be left out when the certificate file holds the key.</summary>
    public string? PrivateKeyFile { get; init; }
}
