using System.Net;
using System.Text.Json.Nodes;
using Turn.Tests.Interop;
using Turn.Tests.Server;

namespace Turn.Tests.Attack;

/// <summary>
/// A real `turn serve` to attack: UDP and TCP on one port of 127.0.0.1 and ::1, relays on
/// 127.0.0.1 and ::1 in a range below the kernel's ephemeral ports (so the tests' own sockets are
/// never mistaken for relays), two users, and loopback peers refused as in production unless a
/// test says otherwise.
/// </summary>
internal sealed class AttackDaemon : IAsyncDisposable
{
    public const int RelayMin = 21000;
    public const int RelayMax = 21999;

    public static readonly TurnCredentials Alice = new("alice", "alice-password");
    public static readonly TurnCredentials Bob = new("bob", "bob-password");

    /// <summary>The TURN REST secret signaling mints credentials from (with <c>http</c>).</summary>
    public const string RestSecret = "attack-rest-secret-0123456789";

    private AttackDaemon(DaemonProcess process, int port, int httpPort)
    {
        Process = process;
        Port = port;
        HttpPort = httpPort;
    }

    public DaemonProcess Process { get; }

    public int Port { get; }

    public int HttpPort { get; }

    public IPEndPoint Udp4 => new(IPAddress.Loopback, Port);

    public IPEndPoint Udp6 => new(IPAddress.IPv6Loopback, Port);

    /// <summary>ws://127.0.0.1:HTTPPORT/signal</summary>
    public Uri Signal => new($"ws://127.0.0.1:{HttpPort}/signal");

    /// <summary>http://127.0.0.1:HTTPPORT/</summary>
    public Uri Http => new($"http://127.0.0.1:{HttpPort}/");

    public static JsonObject BaseConfig(int port) => new()
    {
        ["Listen"] = new JsonObject
        {
            ["Addresses"] = new JsonArray("127.0.0.1", "::1"),
            ["UdpPort"] = port,
            ["TcpPort"] = port,
            ["Transports"] = new JsonArray("udp", "tcp"),
        },
        ["Auth"] = new JsonObject
        {
            ["Realm"] = "attack.test",
            ["Users"] = new JsonArray($"{Alice.Username}:{Alice.Password}", $"{Bob.Username}:{Bob.Password}"),
        },
        ["Relay"] = new JsonObject
        {
            ["Addresses"] = new JsonArray("127.0.0.1", "::1"),
            ["MinPort"] = RelayMin,
            ["MaxPort"] = RelayMax,
        },
    };

    /// <summary>
    /// Starts the daemon on a free port with <paramref name="configure"/> applied; with
    /// <paramref name="metrics"/>, /metrics on its own port; with <paramref name="http"/>, signaling,
    /// the HTTP API and /metrics on http://127.0.0.1:<see cref="HttpPort"/> and a TURN REST secret.
    /// </summary>
    public static async Task<AttackDaemon> StartAsync(Action<JsonObject>? configure = null, bool metrics = false, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? listening = null, bool http = false)
    {
        int[] ports = LoopbackPorts.Take(2, IPAddress.Loopback);
        int port = ports[0];
        JsonObject config = BaseConfig(port);
        if (metrics)
        {
            config["Metrics"] = new JsonObject { ["Urls"] = new JsonArray($"http://127.0.0.1:{ports[1]}") };
        }

        if (http)
        {
            config[nameof(Http)] = new JsonObject { ["Urls"] = new JsonArray($"http://127.0.0.1:{ports[1]}") };
            config["Auth"]!["Secrets"] = new JsonArray(RestSecret);
        }

        configure?.Invoke(config);
        DaemonProcess process = await DaemonProcess.StartAsync(
            config,
            listening ?? [$"udp 127.0.0.1:{port}", $"udp [::1]:{port}", $"tcp 127.0.0.1:{port}", $"tcp [::1]:{port}"],
            environment: environment);
        var daemon = new AttackDaemon(process, port, ports[1]);
        if (http || metrics)
        {
            using var client = new HttpClient();
            await WaitForHttpAsync(client, new Uri($"http://127.0.0.1:{ports[1]}/{(http ? "healthz" : "metrics")}"), process);
        }

        return daemon;
    }

    /// <summary>Kestrel starts after the STUN listeners: waits until it answers.</summary>
    public static async Task WaitForHttpAsync(HttpClient http, Uri probe, DaemonProcess process)
    {
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using HttpResponseMessage response = await http.GetAsync(probe);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        Xunit.Assert.Fail($"{probe} did not answer\n{process.Describe()}");
    }

    /// <summary>The value of one series on /metrics (0 when absent); null labels: the series has none.</summary>
    public async Task<double> MetricAsync(string name, string? labels)
    {
        using var http = new HttpClient();
        string text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/metrics"));
        string prefix = labels is null ? name + " " : $"{name}{{{labels}}} ";
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return double.Parse(line[prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>The sum over every series of a metric; fails the test when the daemon exports none of it.</summary>
    public async Task<double> MetricSumAsync(string name)
    {
        using var http = new HttpClient();
        string text = await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/metrics"));
        double sum = 0;
        int series = 0;
        foreach (string line in text.Split('\n'))
        {
            if (line.StartsWith(name + " ", StringComparison.Ordinal) || line.StartsWith(name + "{", StringComparison.Ordinal))
            {
                sum += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                series++;
            }
        }

        Xunit.Assert.True(series > 0, $"/metrics exports no {name}");
        return sum;
    }

    /// <summary>The daemon's resident memory (VmRSS), in bytes.</summary>
    public long Rss()
    {
        string line = File.ReadAllLines($"/proc/{Process.ProcessId}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public ValueTask DisposeAsync() => Process.DisposeAsync();
}
