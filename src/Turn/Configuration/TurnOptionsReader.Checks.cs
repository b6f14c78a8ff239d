using System.Net;
using System.Net.Sockets;
using Turn.Transport;

namespace Turn.Configuration;

/// <summary>Checks across keys: ports that clash, TLS files that load, RFC 5780's second address.</summary>
internal static partial class TurnOptionsReader
{
    private static void CheckPorts(ConfigReader r, ListenOptions listen)
    {
        if (listen.Transports.Contains("tcp") && listen.Transports.Contains("tls") && listen.TcpPort == listen.TlsPort)
        {
            r.Error("Listen:TlsPort", listen.TlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "is also Listen:TcpPort; TCP and TLS need their own ports");
        }
    }

    private static void CheckTls(ConfigReader r, TlsOptions tls)
    {
        if (tls.CertificateFile is null)
        {
            if (tls.PrivateKeyFile is not null)
            {
                r.Error("Tls:PrivateKeyFile", tls.PrivateKeyFile, "is set but Tls:CertificateFile is not");
            }

            return;
        }

        bool filesExist = true;
        if (!File.Exists(tls.CertificateFile))
        {
            r.Error("Tls:CertificateFile", tls.CertificateFile, "does not exist");
            filesExist = false;
        }

        if (tls.PrivateKeyFile is not null && !File.Exists(tls.PrivateKeyFile))
        {
            r.Error("Tls:PrivateKeyFile", tls.PrivateKeyFile, "does not exist");
            filesExist = false;
        }

        if (filesExist)
        {
            try
            {
                CertificateHolder.Load(tls.CertificateFile, tls.PrivateKeyFile).Dispose();
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
            {
                r.Error("Tls:CertificateFile", tls.CertificateFile, $"cannot be loaded with its key: {e.Message}");
            }
        }
    }

    private static void CheckRfc5780(ConfigReader r, ListenOptions listen, Rfc5780Options rfc5780)
    {
        IPAddress? alternate = rfc5780.AlternateAddress;
        if (alternate is null)
        {
            return;
        }

        const string key = "Rfc5780:AlternateAddress";
        string value = alternate.ToString();
        if (alternate.Equals(IPAddress.Any) || alternate.Equals(IPAddress.IPv6Any))
        {
            r.Error(key, value, "must be a specific address, not a wildcard");
        }
        else if (listen.Addresses.Contains(alternate))
        {
            r.Error(key, value, "is already a listen address; RFC 5780 needs a second one");
        }
        else if (PrimaryFor(listen, alternate.AddressFamily) is null)
        {
            r.Error(key, value, "needs a specific (not wildcard) Listen:Addresses entry of the same family as the primary address");
        }

        if (rfc5780.AlternatePort == listen.UdpPort || rfc5780.AlternatePort == listen.TcpPort)
        {
            r.Error("Rfc5780:AlternatePort", rfc5780.AlternatePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "must differ from Listen:UdpPort and Listen:TcpPort");
        }
    }

    /// <summary>The RFC 5780 primary address: the first specific listen address of the family.</summary>
    public static IPAddress? PrimaryFor(ListenOptions listen, AddressFamily family)
    {
        foreach (IPAddress address in listen.Addresses)
        {
            if (address.AddressFamily == family && !address.Equals(IPAddress.Any) && !address.Equals(IPAddress.IPv6Any))
            {
                return address;
            }
        }

        return null;
    }
}
