using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// "Own addresses" are every address of every interface of the host, kept current: the daemon runs
/// in a network namespace this test makes, on non-loopback addresses, and is attacked from outside
/// it over a veth pair. Private peers of the test's ranges are allowed by the operator, so that
/// only the own-address rule can refuse them.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class HostAddressAttackTests
{
    private const int Port = 3478;

    [Fact]
    public async Task WithASpecificListenAddress_AnotherAddressOfTheHost_IsRefused()
    {
        await using TestNamespace ns = await TestNamespace.CreateAsync();
        await ns.RunAsync("ip", "addr", "add", $"10.200.{ns.Subnet}.2/24", "dev", ns.InsideDevice);
        await ns.RunAsync("ip", "-6", "addr", "add", $"fd77:{ns.Subnet}::1/64", "dev", ns.InsideDevice, "nodad");
        await using DaemonProcess daemon = await ns.StartDaemonAsync(Config(ns.Inside.ToString()), [$"udp {ns.Inside}:{Port}"]);
        await using TurnTestClient client = TurnTestClient.Udp(new IPEndPoint(ns.Inside, Port), AttackDaemon.Alice, ns.Outside);
        await client.AllocateAsync();

        TurnReply second = await client.CreatePermissionAsync(At($"10.200.{ns.Subnet}.2", 9));
        TurnReply loopback = await client.CreatePermissionAsync(At("127.0.0.1", 9));
        TurnReply outside = await client.CreatePermissionAsync(At(ns.Outside.ToString(), 9));
        TurnReply ipv6 = await client.CreatePermissionAsync(At($"fd77:{ns.Subnet}::1", 9));
        TurnReply anycast = await client.CreatePermissionAsync(At($"fd77:{ns.Subnet}::", 9));
        TurnReply neighbour = await client.CreatePermissionAsync(At($"fd77:{ns.Subnet}::5", 9));

        Assert.True(second.ErrorCode == 403, $"the host's second address: {second}\n{daemon.Describe()}");
        Assert.Equal(403, loopback.ErrorCode);
        Assert.True(outside.IsSuccess, $"a peer that is not this host: {outside}");
        Assert.True(ipv6.ErrorCode == 403, $"the host's IPv6 address: {ipv6}");
        Assert.True(anycast.ErrorCode == 403, $"its prefix's subnet-router anycast address: {anycast}");

        // Another host of that prefix passes the policy; only the family is wrong (no IPv6 relay here).
        Assert.True(neighbour.ErrorCode == 443, $"another host of the IPv6 prefix: {neighbour}");
    }

    [Fact]
    public async Task WithAWildcardListen_AnAddressAddedAfterStart_IsRefusedAtOnce_AndAllowedAgainWhenRemoved()
    {
        await using TestNamespace ns = await TestNamespace.CreateAsync();
        await using DaemonProcess daemon = await ns.StartDaemonAsync(Config("0.0.0.0"), [$"udp 0.0.0.0:{Port}"]);
        await using var watchers = new PeerWatchers(ns.Outside);
        await using TurnTestClient client = TurnTestClient.Udp(new IPEndPoint(ns.Inside, Port), AttackDaemon.Alice, ns.Outside);
        StunAddress relay = (await client.AllocateAsync()).Single();
        Assert.Equal(ns.Inside, relay.ToIPAddress());

        string late = $"10.201.{ns.Subnet}.5";
        Assert.True((await client.CreatePermissionAsync(At(late, 9))).IsSuccess, "before the address exists, it is an ordinary allowed peer");

        await ns.AddInterfaceAsync("late0", late + "/24");
        var clock = Stopwatch.StartNew();
        TurnReply reply;
        do
        {
            reply = await client.CreatePermissionAsync(At(late, 9));
        }
        while (reply.ErrorCode != 403 && clock.Elapsed < TimeSpan.FromSeconds(10));

        // Netlink tells the daemon within milliseconds; the periodic re-read is the 5 s backstop.
        Assert.True(reply.ErrorCode == 403, $"{late}, added to an interface, was still a peer after {clock.Elapsed}: {reply}\n{daemon.Describe()}");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"refused only after {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Contains(late, daemon.StandardOutput, StringComparison.Ordinal);

        // The relay still works for a peer that is not this host.
        StunAddress outside = PeerEncodings.Of(watchers.Endpoints[0]);
        Assert.True((await client.CreatePermissionAsync(outside)).IsSuccess);
        await client.SendIndicationAsync(outside, Encoding.ASCII.GetBytes("relayed"));
        for (int i = 0; i < 100 && watchers.Datagrams == 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, watchers.Datagrams);

        await ns.RunAsync("ip", "link", "del", "late0");
        clock.Restart();
        do
        {
            reply = await client.CreatePermissionAsync(At(late, 9));
        }
        while (!reply.IsSuccess && clock.Elapsed < TimeSpan.FromSeconds(10));

        Assert.True(reply.IsSuccess, $"{late}, removed, was still refused after {clock.Elapsed}: {reply}");
    }

    private static StunAddress At(string address, int port) => PeerEncodings.Of(new IPEndPoint(IPAddress.Parse(address), port));

    private static JsonObject Config(string listen) => new()
    {
        ["Listen"] = new JsonObject { ["Addresses"] = new JsonArray(listen), ["UdpPort"] = Port, ["Transports"] = new JsonArray("udp") },
        ["Auth"] = new JsonObject { ["Realm"] = "attack.test", ["Users"] = new JsonArray($"{AttackDaemon.Alice.Username}:{AttackDaemon.Alice.Password}") },
        ["Relay"] = new JsonObject
        {
            ["MinPort"] = AttackDaemon.RelayMin,
            ["MaxPort"] = AttackDaemon.RelayMax,
            ["AllowedPeers"] = new JsonArray("10.200.0.0/16", "10.201.0.0/16", "fd77::/16"),
        },
    };
}
