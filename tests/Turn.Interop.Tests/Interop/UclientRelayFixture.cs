using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Turn.Tests.Interop;

/// <summary>
/// One `turn serve` relaying for turnutils_uclient: UDP, TCP and TLS on 127.0.0.1 and ::1, a static
/// user and a TURN REST secret, relay sockets on 127.0.0.1 and ::1 with loopback peers allowed,
/// and two turnutils_peer echo peers (127.0.0.1 and ::1).
/// <para>
/// uclient waits a random 1–6 s before each session's first message, so one run takes 2–7 s
/// whatever its size. Run one after another, the modes would take a minute; the fixture starts
/// every <see cref="UclientMode"/> run as it comes up, a few at a time, and each test awaits its
/// own. Runs share nothing but the server and the echo peers.
/// </para>
/// </summary>
public sealed class UclientRelayFixture : IAsyncLifetime, IDisposable
{
    public const string User = "alice";
    public const string Password = "alicepw";
    public const string Secret = "0123456789abcdef0123";

    /// <summary>Messages per session (-n), sessions (-m) and message length (-l): small runs.</summary>
    public const int Messages = 50;
    public const int Sessions = 2;
    public const int MessageLength = 100;

    private const int ConcurrentRuns = 3;

    /// <summary>A run takes at most about 7 s; the margin covers a crowded machine.</summary>
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(45);

    private readonly ConcurrentDictionary<UclientMode, Lazy<Task<ToolResult>>> _runs = new();
    private readonly SemaphoreSlim _slots = new(ConcurrentRuns);
    private DaemonProcess? _daemon;
    private PeerProcess? _peer4;
    private PeerProcess? _peer6;

    /// <summary>The UDP and TCP port (uclient's -p serves both).</summary>
    public int Port { get; private set; }

    public int TlsPort { get; private set; }

    public int RelayMinPort { get; private set; }

    public int RelayMaxPort { get; private set; }

    internal IPEndPoint Peer4 => _peer4?.Endpoint ?? throw new InvalidOperationException("the peers have not started");

    internal IPEndPoint Peer6 => _peer6?.Endpoint ?? throw new InvalidOperationException("the peers have not started");

    internal DaemonProcess Daemon => _daemon ?? throw new InvalidOperationException("the daemon has not started");

    public async Task InitializeAsync()
    {
        int[] ports = LoopbackPorts.Take(4, IPAddress.Loopback, IPAddress.IPv6Loopback);
        (Port, TlsPort) = (ports[0], ports[1]);

        // Below the kernel's ephemeral range (32768 and up), where LoopbackPorts finds its ports,
        // and away from the other interop classes' relay ranges.
        RelayMinPort = 20_000 + (Random.Shared.Next(0, 12) * 1000);
        RelayMaxPort = RelayMinPort + 999;

        _peer4 = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.Loopback, ports[2]));
        _peer6 = await PeerProcess.StartAsync(new IPEndPoint(IPAddress.IPv6Loopback, ports[3]));

        var directory = new TempDirectory();
        (string certificateFile, string privateKeyFile) = TestCertificate.WritePem(directory);
        var config = new
        {
            Listen = new
            {
                Addresses = new[] { "127.0.0.1", "::1" },
                UdpPort = Port,
                TcpPort = Port,
                TlsPort,
                Transports = new[] { "udp", "tcp", "tls" },
            },
            Tls = new { CertificateFile = certificateFile, PrivateKeyFile = privateKeyFile },
            Auth = new { Realm = "test", Users = new[] { $"{User}:{Password}" }, Secrets = new[] { Secret } },
            Relay = new
            {
                Addresses = new[] { "127.0.0.1", "::1" },
                UnsafeAllowLoopbackPeers = true,
                MinPort = RelayMinPort,
                MaxPort = RelayMaxPort,
            },
        };
        string[] addresses = ["127.0.0.1", "[::1]"];
        _daemon = await DaemonProcess.StartAsync(
            config,
            [
                .. DaemonProcess.Endpoints("udp", addresses, Port),
                .. DaemonProcess.Endpoints("tcp", addresses, Port),
                .. DaemonProcess.Endpoints("tls", addresses, TlsPort),
            ],
            directory);

        foreach (UclientMode mode in Enum.GetValues<UclientMode>())
        {
            _ = Run(mode);
        }
    }

    /// <summary>The run of <paramref name="mode"/>, started at most once for the whole class.</summary>
    internal Task<ToolResult> Run(UclientMode mode)
        => _runs.GetOrAdd(mode, m => new Lazy<Task<ToolResult>>(() => RunThrottled(Scenario(m).Arguments))).Value;

    /// <summary>A uclient run of its own, right now (for the runs that must be refused, which end at once).</summary>
    internal static Task<ToolResult> RunNow(IReadOnlyList<string> arguments)
        => ToolRunner.RunAsync("turnutils_uclient", arguments, RunTimeout);

    internal UclientScenario Scenario(UclientMode mode)
    {
        // UDP and TCP share the one port.
        IPEndPoint plain4 = new(IPAddress.Loopback, Port), plain6 = new(IPAddress.IPv6Loopback, Port);
        IPEndPoint tls4 = new(IPAddress.Loopback, TlsPort), tls6 = new(IPAddress.IPv6Loopback, TlsPort);
        AddressFamily[] v4 = [AddressFamily.InterNetwork], v6 = [AddressFamily.InterNetworkV6];
        int messages = Messages * Sessions;
        string[] user = ["-u", User, "-w", Password];
        return mode switch
        {
            UclientMode.UdpChannels => new(mode, Arguments(user, [], plain4, Peer4), plain4, v4, messages),
            UclientMode.UdpSendIndications => new(mode, Arguments(user, ["-s"], plain4, Peer4), plain4, v4, messages),
            UclientMode.TcpChannels => new(mode, Arguments(user, ["-t"], plain4, Peer4), plain4, v4, messages),
            UclientMode.TlsChannels => new(mode, Arguments(user, ["-t", "-S"], tls4, Peer4), tls4, v4, messages),
            UclientMode.RestSecret => new(mode, Arguments(["-W", Secret], [], plain4, Peer4), plain4, v4, messages),
            UclientMode.Ipv6Relay => new(mode, Arguments(user, ["-x"], plain4, Peer6), plain4, v6, messages),
            UclientMode.DualAllocation => new(mode, Arguments(user, ["-Z"], plain4, Peer4), plain4, v4, messages),
            UclientMode.DualAllocationToIpv6Peer => new(mode, Arguments(user, ["-Z", "-x"], plain4, Peer6), plain4, [.. v4, .. v6], messages),

            // -y with RTCP rounds -m up to a multiple of 4: two client pairs, four sessions.
            UclientMode.ClientToClient => new(mode, Arguments(user, ["-y"], plain4, peer: null), plain4, v4, Messages * 4),
            UclientMode.NoRtcp => new(mode, Arguments(user, ["-c"], plain4, Peer4), plain4, v4, messages),
            UclientMode.UdpOverIpv6 => new(mode, Arguments(user, ["-x"], plain6, Peer6), plain6, v6, messages),
            UclientMode.TcpOverIpv6ToIpv4Relay => new(mode, Arguments(user, ["-t"], plain6, Peer4), plain6, v4, messages),
            UclientMode.TlsOverIpv6 => new(mode, Arguments(user, ["-t", "-S", "-x"], tls6, Peer6), tls6, v6, messages),
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, null),
        };
    }

    /// <summary>`-v -n 50 -m 2 -l 100 CREDENTIALS FLAGS -p PORT [-e PEER -r PEERPORT] SERVER`.</summary>
    internal static string[] Arguments(IReadOnlyList<string> credentials, IReadOnlyList<string> flags, IPEndPoint server, IPEndPoint? peer)
    {
        var arguments = new List<string> { "-v", "-n", Text(Messages), "-m", Text(Sessions), "-l", Text(MessageLength) };
        arguments.AddRange(credentials);
        arguments.AddRange(flags);
        arguments.AddRange(["-p", Text(server.Port)]);
        if (peer is not null)
        {
            arguments.AddRange(["-e", peer.Address.ToString(), "-r", Text(peer.Port)]);
        }

        arguments.Add(server.Address.ToString());
        return [.. arguments];
    }

    /// <summary>For assertion messages: the server's configuration and log, and whether the peers still run.</summary>
    internal string Describe()
        => $"{Daemon.Describe()}\n--- peers ---\n{Peer4} exited: {_peer4?.HasExited}, {Peer6} exited: {_peer6?.HasExited}";

    private async Task<ToolResult> RunThrottled(IReadOnlyList<string> arguments)
    {
        await _slots.WaitAsync();
        try
        {
            return await ToolRunner.RunAsync("turnutils_uclient", arguments, RunTimeout);
        }
        finally
        {
            _slots.Release();
        }
    }

    public async Task DisposeAsync()
    {
        foreach (Lazy<Task<ToolResult>> run in _runs.Values)
        {
            try
            {
                await run.Value;
            }
            catch (Exception)
            {
                // A failed run already failed its test; the fixture only waits for it to end.
            }
        }

        if (_daemon is not null)
        {
            await _daemon.DisposeAsync();
        }

        if (_peer4 is not null)
        {
            await _peer4.DisposeAsync();
        }

        if (_peer6 is not null)
        {
            await _peer6.DisposeAsync();
        }
    }

    public void Dispose() => _slots.Dispose();

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
