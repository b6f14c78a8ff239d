using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Turn.Hosting;
using Turn.Tests.Interop;
using Xunit;
using Turn.Configuration;

namespace Turn.Tests.Attack;

/// <summary>
/// The daemon as `turn serve` composes it (<see cref="DaemonComposition.CreateHost"/>), in this
/// process on 127.0.0.1, with every key set: the signaling API key, a join token secret (so that
/// clients on this host are not admitted by default) and the admin key. Requests go out as raw
/// bytes over TCP, so the server sees the request target exactly as written.
/// </summary>
internal sealed class EndpointAccessDaemon : IAsyncDisposable
{
    public const string SignalApiKey = "signal-api-key-0123456789abcdefghijklmn";
    public const string JoinTokenSecret = "join-token-secret-0123456789abcdefghijk";
    public const string AdminApiKey = "admin-api-key-0123456789";
    public const string TurnSecret = "turn-rest-secret-0123456789";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly IHost _host;

    private EndpointAccessDaemon(IHost host, int httpPort)
    {
        _host = host;
        HttpPort = httpPort;
    }

    public int HttpPort { get; }

    public string Authority => $"127.0.0.1:{HttpPort}";

    public IServiceProvider Services => _host.Services;

    /// <summary>Every endpoint the host routes to: those of the application's data sources, which its routing matches against.</summary>
    public IReadOnlyList<Endpoint> Endpoints => [.. ((IEndpointRouteBuilder)_host).DataSources.SelectMany(s => s.Endpoints)];

    /// <summary>The endpoints of the routing service's data sources (another view of the same table).</summary>
    public IReadOnlyList<Endpoint> ServiceEndpoints => [.. _host.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints)];

    public static async Task<EndpointAccessDaemon> StartAsync()
    {
        int[] ports = LoopbackPorts.Take(2);
        IConfigurationRoot configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Listen:Addresses:0"] = "127.0.0.1",
            ["Listen:UdpPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Listen:TcpPort"] = ports[0].ToString(CultureInfo.InvariantCulture),
            ["Listen:Transports:0"] = "udp",
            ["Listen:Transports:1"] = "tcp",
            ["Auth:Secrets:0"] = TurnSecret,
            ["Relay:MinPort"] = AttackDaemon.RelayMin.ToString(CultureInfo.InvariantCulture),
            ["Relay:MaxPort"] = AttackDaemon.RelayMax.ToString(CultureInfo.InvariantCulture),
            ["Http:Urls:0"] = $"http://127.0.0.1:{ports[1]}",
            ["Signal:ApiKey"] = SignalApiKey,
            ["Signal:JoinTokenSecret"] = JoinTokenSecret,
            ["Admin:ApiKey"] = AdminApiKey,
            ["Logging:LogLevel:Default"] = "Warning",
        }).Build();
        ValidationResult read = TurnOptionsReader.Read(configuration);
        Assert.True(read.IsValid, string.Join("\n", read.Errors));

        IHost host = DaemonComposition.CreateHost(read.Options, configuration);
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await host.StartAsync(timeout.Token);
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new EndpointAccessDaemon(host, ports[1]);
    }

    /// <summary>
    /// Sends one request with <paramref name="target"/> as its request target, byte for byte, and
    /// reads the answer until the server closes. A body goes with every POST (a small JSON object
    /// unless given), so that a refusal cannot be blamed on a missing one.
    /// </summary>
    public async Task<EndpointAccessResponse> SendAsync(string method, string target, string? authorization = null, string? host = null, string? body = null)
    {
        body ??= method == HttpMethods.Post ? """{"probe":1}""" : null;
        var request = new StringBuilder();
        request.Append(CultureInfo.InvariantCulture, $"{method} {target} HTTP/1.1\r\n");
        request.Append(CultureInfo.InvariantCulture, $"Host: {host ?? Authority}\r\n");
        if (authorization is not null)
        {
            request.Append(CultureInfo.InvariantCulture, $"Authorization: {authorization}\r\n");
        }

        byte[] content = body is null ? [] : Encoding.UTF8.GetBytes(body);
        if (body is not null)
        {
            request.Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {content.Length}\r\n");
        }

        request.Append("Connection: close\r\n\r\n");

        using var timeout = new CancellationTokenSource(Timeout);
        using var client = new TcpClient(AddressFamily.InterNetwork);
        await client.ConnectAsync(IPAddress.Loopback, HttpPort, timeout.Token);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), timeout.Token);
        await stream.WriteAsync(content, timeout.Token);
        using var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException)
        {
            // A reset after a complete answer (the server closing with unread bytes) still leaves the answer to judge.
        }

        return EndpointAccessResponse.Parse(received.ToArray());
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(Timeout);
            await _host.StopAsync(timeout.Token);
        }
        finally
        {
            _host.Dispose();
        }
    }
}
