using System.Text;
using System.Threading.Channels;
using StackExchange.Redis;
using Turn.Signal.Backplane;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>Two nodes sharing rooms through a real redis-server.</summary>
public sealed class RoomBusTests
{
    [Fact]
    public async Task ARoomsEvents_ReachTheNodesSubscribedToIt_AndNoOther()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RoomBus a = await RoomBus.ConnectAsync(redis.Configuration, "a");
        await using RoomBus b = await RoomBus.ConnectAsync(redis.Configuration, "b");
        var atB = Channel.CreateUnbounded<string>();
        var otherAtB = Channel.CreateUnbounded<string>();
        ChannelMessageQueue lobby = await b.Subscribe("lobby", m => atB.Writer.TryWrite(Encoding.UTF8.GetString(m)));
        await b.Subscribe("elsewhere", m => otherAtB.Writer.TryWrite(Encoding.UTF8.GetString(m)));

        // In the order sent: a peer's offer comes before its candidates.
        for (int i = 0; i < 200; i++)
        {
            await a.Publish("lobby", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await atB.Reader.ReadAsync(timeout.Token));
        }

        Assert.False(otherAtB.Reader.TryRead(out _));

        RoomBus.UnsubscribeLater(lobby);
        await b.Publish("elsewhere", "marker"u8.ToArray());
        Assert.Equal("marker", await otherAtB.Reader.ReadAsync(timeout.Token));
        await a.Publish("lobby", "three"u8.ToArray());
        await a.Publish("elsewhere", "marker 2"u8.ToArray());
        Assert.Equal("marker 2", await otherAtB.Reader.ReadAsync(timeout.Token));
        Assert.False(atB.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ARoomsSizeCap_HoldsAcrossNodes()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RoomBus a = await RoomBus.ConnectAsync(redis.Configuration, "a");
        await using RoomBus b = await RoomBus.ConnectAsync(redis.Configuration, "b");

        Assert.True(await a.TryAddMember("lobby", "p1", "a"u8.ToArray(), max: 2));
        Assert.True(await b.TryAddMember("lobby", "p2", "b"u8.ToArray(), max: 2));
        Assert.False(await a.TryAddMember("lobby", "p3", "a"u8.ToArray(), max: 2));
        Assert.Equal(["a", "b"], (await b.MemberEntries("lobby")).Select(e => Encoding.UTF8.GetString(e)).Order());

        // One connection's commands arrive in order: the seat is free for the next.
        a.ForgetMember("lobby", "p1");
        Assert.True(await a.TryAddMember("lobby", "p3", "a"u8.ToArray(), max: 2));
    }

    [Fact]
    public async Task ANode_IsAliveWhileItsHeartbeatLasts()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RoomBus a = await RoomBus.ConnectAsync(redis.Configuration, "a", nodeLifetime: TimeSpan.FromSeconds(1));
        await using RoomBus b = await RoomBus.ConnectAsync(redis.Configuration, "b");
        Assert.False(await b.IsAlive("a"));
        await a.Heartbeat();
        Assert.True(await b.IsAlive("a"));
        await Task.Delay(1500);
        Assert.False(await b.IsAlive("a"));
    }
}
