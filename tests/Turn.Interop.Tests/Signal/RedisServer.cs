using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Turn.Tests.Interop;

namespace Turn.Tests.Signal;

/// <summary>
/// A real redis-server (Debian's package, 7.x) on a loopback port of its own, without
/// persistence: a <see cref="ChildProcess"/>, ready once it accepts a connection, killed by PID.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts one on a free port, or on <paramref name="port"/> (a restart: it comes back empty).</summary>
    public static async Task<RedisServer> StartAsync(int? port = null)
    {
        port ??= LoopbackPorts.TakeOne();
        string[] arguments = ["--port", port.Value.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"];
        var redis = new RedisServer(ChildProcess.Start($"redis-server :{port}", ToolRunner.Require("redis-server"), arguments, null), port.Value);
        try
        {
            await redis._process.WaitUntilAsync(() => Accepts(redis.Port), "a connection", redis._process.Describe);
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> Accepts(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
