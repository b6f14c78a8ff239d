using System.Net;
using System.Net.Sockets;
using System.Text;
using Turn.Tests.Interop;
using Turn.Tests.Server;
using Turn.Wire;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// The peer policy attacked through a running daemon, from UDP and TCP clients: every IPv6 form
/// that embeds another allocation's relay address, this host's addresses or a denied address is
/// refused with 403 and delivers nothing, while the relay address itself, as written, still
/// reaches the allocation that holds it. Listeners on loopback count what arrives.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class PeerPolicyAttackTests
{
    private static readonly byte[] Probe = Encoding.ASCII.GetBytes("must-not-arrive");

    public static TheoryData<string> Transports => new() { "udp", "tcp" };

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task EmbeddedFormsOfAnotherAllocationsRelay_AreRefused_WhileTheRelayAsWrittenIsReached(string transport)
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        await using TurnTestClient b = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Bob);
        List<StunAddress> bRelays = await b.AllocateAsync(dual: true);
        StunAddress b4 = bRelays.Single(a => a.IsIPv4);
        StunAddress b6 = bRelays.Single(a => !a.IsIPv4);
        await using TurnTestClient a = await Client(daemon, transport, AttackDaemon.Alice);
        List<StunAddress> aRelays = await a.AllocateAsync(dual: true);
        StunAddress a4 = aRelays.Single(r => r.IsIPv4);

        // B lets A's relay in, so that anything A's relay sends would show up at B.
        Assert.True((await b.CreatePermissionAsync([.. aRelays])).IsSuccess);

        ushort channel = 0x4000;
        foreach ((string name, StunAddress form) in PeerEncodings.Embedded(b4.ToIPEndPoint()))
        {
            TurnReply permission = await a.CreatePermissionAsync(form);
            Assert.True(permission.ErrorCode == 403, $"CreatePermission to {name} [{form}] was answered {permission}");
            TurnReply bind = await a.ChannelBindAsync(channel++, form);
            Assert.True(bind.ErrorCode == 403, $"ChannelBind to {name} [{form}] was answered {bind}");
            await a.SendIndicationAsync(form, Probe);
            await a.SendChannelDataAsync((ushort)(channel - 1), Probe);
        }

        Assert.Null(await b.ReceiveDataAsync(TimeSpan.FromMilliseconds(300)));

        // The relay as written, over a channel and by Send indication, in both families.
        Assert.True((await a.ChannelBindAsync(0x5000, b4)).IsSuccess);
        await a.SendChannelDataAsync(0x5000, Encoding.ASCII.GetBytes("literal-v4"));
        Assert.True((await a.CreatePermissionAsync(b6)).IsSuccess);
        await a.SendIndicationAsync(b6, Encoding.ASCII.GetBytes("literal-v6"));

        // The IPv4-mapped form is the IPv4 relay itself: allowed, and the datagram goes to 127.0.0.1.
        StunAddress mapped = PeerEncodings.Mapped(b4.ToIPEndPoint());
        Assert.True((await a.CreatePermissionAsync(mapped)).IsSuccess);
        await a.SendIndicationAsync(mapped, Encoding.ASCII.GetBytes("mapped"));

        var received = new List<(StunAddress? Peer, string Text)>();
        for (int i = 0; i < 3; i++)
        {
            (StunAddress? peer, _, byte[] data) = await b.ReceiveDataAsync(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException($"B got {received.Count} of 3 legitimate datagrams");
            received.Add((peer, Encoding.ASCII.GetString(data)));
        }

        Assert.Equal(["literal-v4", "literal-v6", "mapped"], received.Select(r => r.Text).Order());
        Assert.Equal(a4, received.Single(r => r.Text == "mapped").Peer);
        Assert.Null(await b.ReceiveDataAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task IPv6OnlyAllocation_CannotReachAnIPv4RelayThroughAnyEmbedding()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        await using TurnTestClient b = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Bob);
        StunAddress b4 = (await b.AllocateAsync(AddressFamily.InterNetwork)).Single();
        await using TurnTestClient a = TurnTestClient.Udp(daemon.Udp6, AttackDaemon.Alice);
        Assert.False((await a.AllocateAsync(AddressFamily.InterNetworkV6)).Single().IsIPv4);

        foreach ((string name, StunAddress form) in PeerEncodings.Embedded(b4.ToIPEndPoint()))
        {
            TurnReply reply = await a.CreatePermissionAsync(form);
            Assert.True(reply.ErrorCode == 403, $"{name} [{form}]: {reply}");
            await a.SendIndicationAsync(form, Probe);
        }

        // The mapped form names an IPv4 peer, which this allocation has no relay for.
        TurnReply mapped = await a.CreatePermissionAsync(PeerEncodings.Mapped(b4.ToIPEndPoint()));
        Assert.True(mapped.ErrorCode == 443, $"mapped: {mapped}");
        Assert.Null(await b.ReceiveDataAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Theory]
    [MemberData(nameof(Transports))]
    public async Task LoopbackAndOwnAddresses_InEveryEncoding_AreRefused_AndReceiveNothing(string transport)
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        await using var watchers = new PeerWatchers(IPAddress.Loopback, IPAddress.Parse("127.0.0.2"), IPAddress.IPv6Loopback);
        await using TurnTestClient a = await Client(daemon, transport, AttackDaemon.Alice);
        List<StunAddress> relayed = await a.AllocateAsync(dual: true);

        // A port of the relay range that is no allocation's: a relayed address of this server is a
        // peer by design (two clients of one server reach each other), so it must not be the one drawn.
        int unused = Enumerable.Range(AttackDaemon.RelayMin, 8).First(p => relayed.All(r => r.Port != p));
        var targets = new List<IPEndPoint>(watchers.Endpoints)
        {
            new(IPAddress.Loopback, daemon.Port),
            new(IPAddress.IPv6Loopback, daemon.Port),
            new(IPAddress.Loopback, unused),
        };
        var failures = new List<string>();
        ushort channel = 0x4000;
        foreach (IPEndPoint target in targets)
        {
            var forms = new List<(string Name, StunAddress Address)> { ("as written", PeerEncodings.Of(target)) };
            if (target.AddressFamily == AddressFamily.InterNetwork)
            {
                forms.Add(("IPv4-mapped", PeerEncodings.Mapped(target)));
                forms.AddRange(PeerEncodings.Embedded(target));
            }

            foreach ((string name, StunAddress form) in forms)
            {
                TurnReply permission = await a.CreatePermissionAsync(form);
                TurnReply bind = await a.ChannelBindAsync(channel, form);
                if (permission.ErrorCode != 403 || bind.ErrorCode != 403)
                {
                    failures.Add($"{target} {name} [{form}]: CreatePermission {permission}, ChannelBind {bind}");
                }

                await a.SendIndicationAsync(form, Probe);
                await a.SendChannelDataAsync(channel++, Probe);
            }
        }

        await Task.Delay(300);
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        Assert.Equal(0, watchers.Bytes);
    }

    [Fact]
    public async Task MalformedRepeatedAndMixedPeerAddresses_InstallNothing()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync();
        await using var watchers = new PeerWatchers(IPAddress.Loopback);
        StunAddress watcher = PeerEncodings.Of(watchers.Endpoints[0]);
        await using TurnTestClient b = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Bob);
        StunAddress b4 = (await b.AllocateAsync()).Single();
        await using TurnTestClient a = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        StunAddress a4 = (await a.AllocateAsync()).Single();
        Assert.True((await b.CreatePermissionAsync(a4)).IsSuccess);

        // A permitted peer next to a denied one: the request fails whole (RFC 8656 §9.2).
        Assert.Equal(403, (await a.CreatePermissionAsync(b4, watcher)).ErrorCode);
        Assert.Equal(403, (await a.CreatePermissionAsync(watcher, watcher, watcher)).ErrorCode);

        // Family byte 0x03, a short IPv6 value, an IPv4 value with trailing bytes.
        foreach (byte[] value in new[] { new byte[] { 0, 3, 0, 80, 1, 2, 3, 4 }, new byte[] { 0, 2, 0, 80, 1, 2, 3, 4 }, new byte[] { 0, 1, 0, 80, 1, 2, 3, 4, 5, 6, 7, 8 } })
        {
            TurnReply reply = await a.RequestAsync(StunMethod.CreatePermission, (ref StunWriter w) => w.AddBytes(StunAttributeType.XorPeerAddress, value));
            Assert.Equal(400, reply.ErrorCode);
        }

        // ChannelBind and Send name one peer: a second XOR-PEER-ADDRESS makes them malformed, whatever comes first.
        TurnReply twoPeers = await a.RequestAsync(StunMethod.ChannelBind, (ref StunWriter w) =>
        {
            w.AddUInt16Reserved(StunAttributeType.ChannelNumber, 0x4000);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, b4);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, watcher);
        });
        Assert.Equal(400, twoPeers.ErrorCode);
        await a.SendRawAsync(TurnMessages.Unsigned(StunMethod.Send, StunClass.Indication, TurnMessages.TransactionId(), (ref StunWriter w) =>
        {
            w.AddXorAddress(StunAttributeType.XorPeerAddress, b4);
            w.AddXorAddress(StunAttributeType.XorPeerAddress, watcher);
            w.AddBytes(StunAttributeType.Data, Probe);
        }));

        await a.SendIndicationAsync(b4, Probe);
        await a.SendIndicationAsync(watcher, Probe);
        await Task.Delay(300);
        Assert.Null(await b.ReceiveDataAsync(TimeSpan.FromMilliseconds(100)));
        Assert.Equal(0, watchers.Bytes);
    }

    [Fact]
    public async Task OperatorDeniedPeers_AddToTheBuiltInList_LoopbackAndMetadataStayRefused()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Relay"]!["DeniedPeers"] = new System.Text.Json.Nodes.JsonArray("10.0.0.0/8"));
        await using var watchers = new PeerWatchers(IPAddress.Parse("127.0.0.2"));
        await using TurnTestClient a = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        await a.AllocateAsync();

        foreach (string peer in new[] { "127.0.0.2:" + watchers.Endpoints[0].Port, "127.0.0.53:53", "169.254.169.254:80", "192.168.1.1:9", "10.1.2.3:9" })
        {
            TurnReply reply = await a.CreatePermissionAsync(PeerEncodings.Of(IPEndPoint.Parse(peer)));
            Assert.True(reply.ErrorCode == 403, $"{peer}: {reply}");
        }

        await a.SendIndicationAsync(PeerEncodings.Of(watchers.Endpoints[0]), Probe);
        await Task.Delay(300);
        Assert.Equal(0, watchers.Bytes);
    }

    [Fact]
    public async Task RemovingABuiltInEntry_TakesTheExplicitKey_AndIsWarnedAbout()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Relay"]!["RemoveBuiltInDeniedPeers"] = new System.Text.Json.Nodes.JsonArray("127.0.0.0/8"));
        await using var watchers = new PeerWatchers(IPAddress.Parse("127.0.0.2"));
        await using TurnTestClient a = TurnTestClient.Udp(daemon.Udp4, AttackDaemon.Alice);
        await a.AllocateAsync();

        Assert.True((await a.CreatePermissionAsync(PeerEncodings.Of(watchers.Endpoints[0]))).IsSuccess);
        await a.SendIndicationAsync(PeerEncodings.Of(watchers.Endpoints[0]), Encoding.ASCII.GetBytes("allowed"));
        for (int i = 0; i < 50 && watchers.Datagrams == 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, watchers.Datagrams);
        Assert.Contains("Relay:RemoveBuiltInDeniedPeers takes 127.0.0.0/8 off the deny list", daemon.Process.StandardOutput, StringComparison.Ordinal);

        // Even so, this host's own listening port and relay range stay refused, in any spelling.
        Assert.Equal(403, (await a.CreatePermissionAsync(PeerEncodings.Of(new IPEndPoint(IPAddress.Loopback, daemon.Port)))).ErrorCode);
        Assert.Equal(403, (await a.CreatePermissionAsync(PeerEncodings.Embedded(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 9)).First().Address)).ErrorCode);
    }

    private static async Task<TurnTestClient> Client(AttackDaemon daemon, string transport, TurnCredentials credentials)
        => transport == "tcp"
            ? await TurnTestClient.TcpAsync(daemon.Udp4, credentials)
            : TurnTestClient.Udp(daemon.Udp4, credentials);
}
