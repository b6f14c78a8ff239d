using System.Net;
using System.Security.Cryptography;
using Turn.Tests.Interop;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// A network namespace the test makes for itself, joined to this one by a veth pair: inside it,
/// 10.200.N.1/24 (and whatever the test adds); here, 10.200.N.254/24. A daemon started in it sees
/// only its interfaces, so the test can give that host addresses and take them away. Dispose
/// deletes the namespace, and with it both ends of the pair. Needs root, as `ip netns` does.
/// </summary>
internal sealed class TestNamespace : IAsyncDisposable
{
    private readonly string _outside;

    private TestNamespace(string name, string outside, int subnet)
    {
        Name = name;
        _outside = outside;
        Subnet = subnet;
    }

    public string Name { get; }

    public int Subnet { get; }

    /// <summary>The namespace's end of the pair, 10.200.N.1.</summary>
    public IPAddress Inside => IPAddress.Parse($"10.200.{Subnet}.1");

    /// <summary>This namespace's end, 10.200.N.254: where the test's clients and watchers bind.</summary>
    public IPAddress Outside => IPAddress.Parse($"10.200.{Subnet}.254");

    public string InsideDevice => Name[..Math.Min(Name.Length, 12)] + "b";

    public static async Task<TestNamespace> CreateAsync()
    {
        int subnet = RandomNumberGenerator.GetInt32(1, 250);
        string name = $"tt{RandomNumberGenerator.GetHexString(8, lowercase: true)}";
        var created = new TestNamespace(name, name + "a", subnet);
        try
        {
            await Ip("netns", "add", name);
            await Ip("link", "add", created._outside, "type", "veth", "peer", "name", created.InsideDevice);
            await Ip("link", "set", created.InsideDevice, "netns", name);
            await Ip("addr", "add", $"{created.Outside}/24", "dev", created._outside);
            await Ip("link", "set", created._outside, "up");
            await created.RunAsync("ip", "link", "set", "lo", "up");
            await created.RunAsync("ip", "addr", "add", $"{created.Inside}/24", "dev", created.InsideDevice);
            await created.RunAsync("ip", "link", "set", created.InsideDevice, "up");
            return created;
        }
        catch
        {
            await created.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a command inside the namespace and fails the test when it fails.</summary>
    public async Task RunAsync(params string[] command)
    {
        ToolResult result = await ToolRunner.RunAsync("ip", ["netns", "exec", Name, .. command]);
        Assert.True(result.ExitCode == 0, $"in namespace {Name}: {result}");
    }

    /// <summary>Adds an interface of a purely software kind inside (dummy where the kernel has it, else a bridge) holding <paramref name="cidr"/>.</summary>
    public async Task AddInterfaceAsync(string device, string cidr)
    {
        ToolResult dummy = await ToolRunner.RunAsync("ip", ["netns", "exec", Name, "ip", "link", "add", device, "type", "dummy"]);
        if (dummy.ExitCode != 0)
        {
            await RunAsync("ip", "link", "add", device, "type", "bridge");
        }

        await RunAsync("ip", "addr", "add", cidr, "dev", device);
        await RunAsync("ip", "link", "set", device, "up");
    }

    /// <summary>The daemon in the namespace: `ip netns exec NAME dotnet turn.dll serve --config FILE` (ip execs, so the PID is the daemon's).</summary>
    public Task<DaemonProcess> StartDaemonAsync(object config, IEnumerable<string> listening)
        => DaemonProcess.StartAsync(config, listening, launcher: ["ip", "netns", "exec", Name]);

    private static async Task Ip(params string[] arguments)
    {
        ToolResult result = await ToolRunner.RunAsync("ip", arguments);
        Assert.True(result.ExitCode == 0, $"the namespace tests need root and iproute2: {result}");
    }

    public async ValueTask DisposeAsync()
    {
        await ToolRunner.RunAsync("ip", ["netns", "del", Name]);
        await ToolRunner.RunAsync("ip", ["link", "del", _outside]);
    }
}
