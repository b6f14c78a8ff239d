using Xunit;

namespace Turn.Tests.Interop;

/// <summary>One `turn serve` on 127.0.0.1 with UDP, TCP and TLS (a self-signed certificate made for it), shared by a test class.</summary>
public sealed class TlsDaemonFixture : IAsyncLifetime
{
    private DaemonProcess? _daemon;

    public int UdpPort { get; private set; }

    public int TcpPort { get; private set; }

    public int TlsPort { get; private set; }

    /// <summary>The server's self-signed certificate as PEM, for `turn probe --ca-file`.</summary>
    public string CertificateFile { get; private set; } = "";

    internal DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    public async Task InitializeAsync()
    {
        int[] ports = LoopbackPorts.Take(3);
        (UdpPort, TcpPort, TlsPort) = (ports[0], ports[1], ports[2]);
        var directory = new TempDirectory();
        (string certificateFile, string privateKeyFile) = TestCertificate.WritePem(directory);
        CertificateFile = certificateFile;
        var config = new
        {
            Listen = new
            {
                Addresses = new[] { "127.0.0.1" },
                UdpPort,
                TcpPort,
                TlsPort,
                Transports = new[] { "udp", "tcp", "tls" },
            },
            Tls = new { CertificateFile = certificateFile, PrivateKeyFile = privateKeyFile },
        };
        _daemon = await DaemonProcess.StartAsync(
            config,
            [$"udp 127.0.0.1:{UdpPort}", $"tcp 127.0.0.1:{TcpPort}", $"tls 127.0.0.1:{TlsPort}"],
            directory);
    }

    public async Task DisposeAsync()
    {
        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }
    }
}
