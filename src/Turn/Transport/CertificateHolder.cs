using System.Security.Cryptography.X509Certificates;

namespace Turn.Transport;

/// <summary>The TLS certificate in use; swapping it affects only handshakes that start afterwards.</summary>
internal sealed class CertificateHolder(X509Certificate2 certificate)
{
    private volatile X509Certificate2 _current = certificate;

    public X509Certificate2 Current => _current;

    public void Swap(X509Certificate2 certificate) => _current = certificate;

    /// <summary>Loads a PEM certificate chain and its key; the key may sit in the certificate file.</summary>
    public static X509Certificate2 Load(string certificateFile, string? privateKeyFile)
    {
        using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certificateFile, string.IsNullOrEmpty(privateKeyFile) ? null : privateKeyFile);

        // A PEM key is ephemeral; a PKCS#12 round trip gives SslStream a key it can use on every platform.
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
