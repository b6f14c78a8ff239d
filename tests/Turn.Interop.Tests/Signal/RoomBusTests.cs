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
        await using RoomBus a = RoomBus.Connect(redis.Configuration, "a");
        await using RoomBus b = RoomBus.Connect(redis.Configuration, "b");
        var atB = Channel.CreateUnbounded<string>();
        var otherAtB = Channel.CreateUnbounded<string>();
        ChannelMessageQueue lobby = await b.Subscribe("lobby", m => atB.Writer.TryWrite(Encoding.UTF8.GetString(m)));
        await b.Subscribe("elsewhere", m => otherAtB.Writer.TryWrite(Encoding.UTF8.GetString(m)));

        // In the order sent: a peer's offer comes before its candidates.
        for (int i = 0; i < 200; i++)
        {
            a.PublishLater("lobby", Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        using var timeout = new CancellationTokenSource(SignalTestServer.Timeout);
        for (int i = 0; i < 200; i++)
        {
            Assert.Equal(i.ToString(System.Globalization.CultureInfo.InvariantCulture), await atB.Reader.ReadAsync(timeout.Token));
        }

        Assert.False(otherAtB.Reader.TryRead(out _));

        RoomBus.UnsubscribeLater(lobby);
        b.PublishLater("elsewhere", "marker"u8.ToArray());
        Assert.Equal("marker", await otherAtB.Reader.ReadAsync(timeout.Token));
        a.PublishLater("lobby", "three"u8.ToArray());
        a.PublishLater("elsewhere", "marker 2"u8.ToArray());
        Assert.Equal("marker 2", await otherAtB.Reader.ReadAsync(timeout.Token));
        Assert.False(atB.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ARoomsSizeCap_HoldsAcrossNodes()
    {
        await using RedisServer redis = await RedisServer.StartAsync();
        await using RoomBus a = RoomBus.Connect(redis.Configuration, "a");
        await using RoomBus b = RoomBus.Connect(redis.Configuration, "b");

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
        await using RoomBus a = RoomBus.Connect(redis.Configuration, "a", nodeLifetime: TimeSpan.FromSeconds(1));
        await using RoomBus b = RoomBus.Connect(redis.Configuration, "b");
        Assert.False(await b.IsAlive("a"));

        // One connection's commands arrive in order: once a sees its own key, b does too.
        a.HeartbeatLater();
        Assert.True(await a.IsAlive("a"));
        Assert.True(await b.IsAlive("a"));
        await Task.Delay(1500);
        Assert.False(await b.IsAlive("a"));
    }
}
