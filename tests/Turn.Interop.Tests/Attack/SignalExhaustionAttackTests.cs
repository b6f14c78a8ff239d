using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using Turn.Signal;
using Turn.Tests.Interop;
using Turn.Tests.Signal;
using Xunit;

namespace Turn.Tests.Attack;

/// <summary>
/// One address trying to fill the daemon: its connections, seats, rooms and memory. Each test
/// keeps the attacker at its caps (on 127.0.0.1) while another address (127.0.0.2, 127.0.0.3)
/// joins and is served, and measures what the attack cost the daemon.
/// </summary>
[Collection(InteropCollectionDefinition.Name)]
public sealed class SignalExhaustionAttackTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly IPAddress Other = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Third = IPAddress.Parse("127.0.0.3");

    [Fact]
    public async Task OneAddressAtItsCaps_DoesNotStopAnotherFromJoiningAnyRoom()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(Open(), http: true);
        var attacker = new List<SignalTestClient>();
        try
        {
            // 32 connections; a 33rd is refused before the upgrade.
            for (int i = 0; i < 32; i++)
            {
                attacker.Add(await SignalTestClient.ConnectAsync(daemon.Signal));
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, await SignalTestClient.UpgradeStatusAsync(daemon.Signal, null));

            // 25 seats of the room, then its share of it is gone.
            for (int i = 0; i < 25; i++)
            {
                await attacker[i].JoinAsync("standup");
            }

            await attacker[25].SendAsync("""{"type":"join","room":"standup","id":"j"}""");
            Assert.Contains("seats of this room", (await attacker[25].ExpectErrorAsync(SignalError.AddressLimit)).Str("message"), StringComparison.Ordinal);

            // Another address joins that room, and any other.
            await using SignalTestClient other = await SignalTestClient.ConnectAsync(daemon.Signal, from: Other);
            await other.JoinAsync("standup");
            await using SignalTestClient second = await SignalTestClient.ConnectAsync(daemon.Signal, from: Other);
            await second.JoinAsync("elsewhere");
        }
        finally
        {
            foreach (SignalTestClient client in attacker)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task JoinThenDrop_CannotHoldMoreSeatsOrRoomsThanTheAddressMay()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(Open(), http: true);

        // Each cycle leaves a seat away for the grace window (30 s): they count against the address.
        int seated = 0;
        string? refusal = null;
        for (int i = 0; i < 40 && refusal is null; i++)
        {
            await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);
            await client.SendAsync($$"""{"type":"join","room":"room-{{i}}","id":"j"}""");
            ServerMessage answer = await client.NextAsync("joined or an error");
            if (answer.Type == "joined")
            {
                seated++;
                client.Socket.Abort();
            }
            else
            {
                refusal = answer.Raw;
            }
        }

        // Rooms it created count too (16 here), so that limit comes first.
        Assert.Equal(16, seated);
        Assert.Contains("address-limit", refusal, StringComparison.Ordinal);
        Assert.Contains("rooms", refusal, StringComparison.Ordinal);

        // Another address can join those rooms, and create its own.
        await using SignalTestClient other = await SignalTestClient.ConnectAsync(daemon.Signal, from: Other);
        await other.JoinAsync("room-3");
        await using SignalTestClient own = await SignalTestClient.ConnectAsync(daemon.Signal, from: Other);
        await own.JoinAsync("room-of-its-own");
    }

    [Fact]
    public async Task JoinsFasterThanTheRate_AreRefused()
    {
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(config => config["Signal"] = new JsonObject { ["UnsafeOpenAdmission"] = true }, http: true);
        await using SignalTestClient client = await SignalTestClient.ConnectAsync(daemon.Signal);

        // join, leave, join...: the burst (20) passes, then the rate (5 a second) holds.
        int joined = 0;
        bool limited = false;
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 60 && !limited; i++)
        {
            await client.SendAsync("""{"type":"join","room":"churn","id":"j"}""");
            ServerMessage answer = await client.NextAsync("joined or an error");
            if (answer.Type != "joined")
            {
                Assert.Equal(SignalError.RateLimited, answer.Str("code"));
                limited = true;
                break;
            }

            joined++;
            await client.SendAsync("""{"type":"leave"}""");
        }

        Assert.True(limited, $"{joined} joins in {clock.Elapsed.TotalSeconds:F1} s were all admitted");
        Assert.InRange(joined, 20, 20 + (int)Math.Ceiling(clock.Elapsed.TotalSeconds * 5));
    }

    [Fact]
    public async Task FloodingIntoReadersThatNeverRead_StaysWithinTheByteBudgets_WhileOthersAreServed()
    {
        // A small first GC generation, so that resident memory shows what is held rather than garbage not yet collected.
        await using AttackDaemon daemon = await AttackDaemon.StartAsync(
            Open(config => config["Signal"]!["MessagesPerSecond"] = 200),
            http: true,
            environment: new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x1000000" });
        var stalled = new List<SignalTestClient>();
        var senders = new List<SignalTestClient>();
        try
        {
            // From one address: 28 peers that never read, and 4 that broadcast 16 KB messages into their room.
            for (int i = 0; i < 28; i++)
            {
                SignalTestClient quiet = await SignalTestClient.ConnectAsync(daemon.Signal, read: false);
                await quiet.SendAsync($$"""{"type":"join","room":"flood-{{i % 2}}"}""");
                stalled.Add(quiet);
            }

            for (int i = 0; i < 4; i++)
            {
                SignalTestClient sender = await SignalTestClient.ConnectAsync(daemon.Signal);
                await sender.JoinAsync($"flood-{i % 2}");
                senders.Add(sender);
            }

            long before = daemon.Rss();
            string payload = $$"""{"type":"broadcast","data":"{{new string('x', 16_000)}}"}""";
            var clock = Stopwatch.StartNew();
            double peakQueued = 0;
            Task flood = Task.WhenAll(senders.Select(async sender =>
            {
                for (int n = 0; n < 600 && clock.Elapsed < TimeSpan.FromSeconds(6); n++)
                {
                    await sender.SendAsync(payload);
                    await Task.Delay(5);
                }
            }));
            Task watch = Task.Run(async () =>
            {
                while (!flood.IsCompleted)
                {
                    peakQueued = Math.Max(peakQueued, await daemon.MetricAsync("turn_signal_queued_bytes", null));
                    await Task.Delay(100);
                }
            });

            // Meanwhile two peers of other addresses talk, with an answer within the usual bound each time.
            await using SignalTestClient ann = await SignalTestClient.ConnectAsync(daemon.Signal, from: Other);
            await ann.JoinAsync("quiet-room");
            await using SignalTestClient bob = await SignalTestClient.ConnectAsync(daemon.Signal, from: Third);
            await bob.JoinAsync("quiet-room");
            await ann.ExpectAsync("peer-joined");
            for (int i = 0; i < 10; i++)
            {
                await ann.SendAsync($$$"""{"type":"message","to":"{{{bob.Id}}}","data":{"n":{{{i}}}}}""");
                await bob.ExpectAsync("message");
            }

            await flood;
            await watch;
            long grown = daemon.Rss() - before;
            double shed = await daemon.MetricAsync("turn_signal_send_queue_drops_total", null);
            output.WriteLine($"RSS grew by {grown >> 10} KiB; at most {peakQueued / 1024:F0} KiB queued; {shed} messages shed");

            // The address's share (8 MB here), and each peer at most 256 KB queued and 64 KB kept while away.
            Assert.True(peakQueued <= (8 << 20) + (32 * 16 * 1024), $"{peakQueued} bytes queued at the peak");
            Assert.True(grown < 64L << 20, $"the daemon grew by {grown >> 20} MiB under the flood");
            Assert.True(shed > 0, "nothing was shed");
        }
        finally
        {
            foreach (SignalTestClient client in stalled.Concat(senders))
            {
                await client.DisposeAsync();
            }
        }
    }

    private static Action<JsonObject> Open(Action<JsonObject>? more = null) => config =>
    {
        // Open, with room for the joins the test makes quickly, and with per-address caps small
        // enough to reach in a test (the defaults are larger: offices share one address).
        config["Signal"] = new JsonObject
        {
            ["UnsafeOpenAdmission"] = true,
            ["CredentialsPerMinute"] = 1000,
            ["JoinsPerSecond"] = 1000,
            ["MaxConnectionsPerAddress"] = 32,
            ["MaxPeersPerAddress"] = 32,
            ["MaxRoomsPerAddress"] = 16,
            ["QueuedMegabytesPerAddress"] = 8,
        };
        more?.Invoke(config);
    };
}
