using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Turn.Tests.Interop;

/// <summary>A self-signed ECDSA P-256 server certificate for 127.0.0.1 and localhost, written as PEM files.</summary>
internal static class TestCertificate
{
    /// <summary>Writes cert.pem and key.pem into <paramref name="directory"/> and returns their paths.</summary>
    public static (string CertificateFile, string PrivateKeyFile) WritePem(TempDirectory directory)
    {
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=turn interop test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        string certificateFile = directory.Write("cert.pem", certificate.ExportCertificatePem());
        string privateKeyFile = directory.Write("key.pem", key.ExportPkcs8PrivateKeyPem());
        return (certificateFile, privateKeyFile);
    }
}
