using System.Text.Json;
using Turn.Signal;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>Leaving, dropping, and coming back with the resume token within the grace window.</summary>
public sealed class SignalResumeTests
{
    private static SignalOptions Options => new()
    {
        MaxPeersPerRoom = 3,
        ResumeGraceSeconds = 2,
        ResumeQueueLength = 10,
        MessagesPerSecond = 100,
        MaxMessageBytes = 1024,
    };

    [Fact]
    public async Task Leave_OthersGetPeerLeftAndTheSeatIsFree()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await bob.SendAsync("""{"type":"leave"}""");

        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
        Assert.Null(server.Peer("room", bob.Id));
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":1}""");
        await ann.ExpectErrorAsync(SignalError.UnknownPeer);
    }

    [Fact]
    public async Task Leave_ThenTheConnectionIsNotJoinedAndCanJoinAgain()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        string firstId = bob.Id;
        string firstToken = bob.ResumeToken;

        await bob.SendAsync("""{"type":"leave"}""");
        await ann.ExpectAsync("peer-left");
        await bob.SendAsync("""{"type":"broadcast","data":1}""");
        await bob.ExpectErrorAsync(SignalError.NotJoined);

        await bob.JoinAsync("room");
        Assert.NotEqual(firstId, bob.Id);
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-joined")).Get("peer").GetProperty("id").GetString());

        await using SignalTestClient again = await server.ConnectAsync();
        await again.SendAsync(JsonSerializer.Serialize(new { type = "join", resume = firstToken }));
        await again.ExpectErrorAsync(SignalError.ResumeFailed);
    }

    [Fact]
    public async Task Leave_LastPeer_RemovesTheRoom()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        Assert.Equal(1, server.Hub.RoomCount);

        await ann.SendAsync("""{"type":"leave"}""");
        await ann.SyncAsync();

        Assert.Equal(0, server.Hub.RoomCount);
    }

    [Fact]
    public async Task Close_WithinTheGraceWindow_OthersSeeNothing_AfterIt_PeerLeft()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);

        Assert.Equal(0, server.Sweep());
        Assert.Equal(0, server.Sweep(afterMs: (Options.ResumeGraceSeconds * 1000) - 200));
        await ann.ExpectNothingAsync();
        Assert.NotNull(server.Peer("room", bob.Id));

        Assert.Equal(1, server.Sweep(afterMs: server.PastGraceMs));
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
        Assert.Null(server.Peer("room", bob.Id));
    }

    [Fact]
    public async Task Close_InRealTime_PeerLeftComesOnlyAfterTheGraceWindow()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        long graceMs = Options.ResumeGraceSeconds * 1000L;

        // Time from before the close: the server's stamp of the drop comes later, so this clock
        // never reads less than the time the peer has really been away.
        var sinceClose = System.Diagnostics.Stopwatch.StartNew();
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);
        await Task.Delay(300);
        long before = sinceClose.ElapsedMilliseconds;
        int early = server.Sweep();
        if (before < graceMs - 100)
        {
            Assert.Equal(0, early);
            await ann.ExpectNothingAsync();
        }

        await SignalTestServer.WaitUntilAsync(() => early == 1 || server.Sweep() == 1, "the sweep to end the seat");
        Assert.True(sinceClose.ElapsedMilliseconds >= graceMs - 2, $"the seat ended {sinceClose.ElapsedMilliseconds} ms after the close");
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
    }

    [Fact]
    public async Task Abort_IsTreatedLikeAClose_SeatKeptForTheGraceWindow()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        bob.Socket.Abort();
        await server.WaitUntilAwayAsync("room", bob.Id);

        Assert.Equal(0, server.Sweep());
        await ann.ExpectNothingAsync();
        Assert.Equal(1, server.Sweep(afterMs: server.PastGraceMs));
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
    }

    [Fact]
    public async Task Resume_WithinTheWindow_KeepsTheIdGetsFreshIceServersAndWhatWasSentMeanwhileInOrder()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room", "Ann");
        await using SignalTestClient bob = await server.JoinAsync("room", "Bob");
        await ann.ExpectAsync("peer-joined");
        string[] sent = ["""{"sdp":"offer"}""", """[1,"two",{"three":3}]""", "\"text\"", "7", """{"candidate":"c"}"""];

        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);
        await ann.SendAsync($$"""{"type":"offer","to":"{{bob.Id}}","data":{{sent[0]}}}""");
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":{{sent[1]}}}""");
        await ann.SendAsync($$"""{"type":"broadcast","data":{{sent[2]}}}""");
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":{{sent[3]}}}""");
        await ann.SendAsync($$"""{"type":"candidate","to":"{{bob.Id}}","data":{{sent[4]}}}""");
        await ann.ExpectNothingAsync();
        Assert.Equal(0, server.Sweep(afterMs: 1000));

        await using SignalTestClient bobAgain = await server.ConnectAsync();
        ServerMessage joined = await bobAgain.ResumeAsync(bob.ResumeToken);

        Assert.Equal(bob.Id, joined.Str("id"));
        Assert.Equal(bob.ResumeToken, joined.Str("resumeToken"));
        Assert.Equal("room", joined.Str("room"));
        Assert.True(joined.Get("resumed").GetBoolean(), joined.Raw);
        Assert.Equal(ann.Id, Assert.Single(joined.Get("peers").EnumerateArray()).GetProperty("id").GetString());
        SignalJoinTests.AssertIceServers(joined, call: 3, bob.Id);
        string[] types = ["offer", "message", "broadcast", "message", "candidate"];
        for (int i = 0; i < sent.Length; i++)
        {
            ServerMessage kept = await bobAgain.ExpectAsync(types[i]);
            Assert.Equal(ann.Id, kept.Str("from"));
            Assert.Equal(sent[i], kept.DataText);
        }

        await bobAgain.ExpectNothingAsync();
        await ann.ExpectNothingAsync();
        Assert.True(server.Peer("room", bob.Id)!.Connected);

        await bobAgain.SendAsync($$$"""{"type":"answer","to":"{{{ann.Id}}}","data":{"sdp":"answer"}}""");
        Assert.Equal(bob.Id, (await ann.ExpectAsync("answer")).Str("from"));
        Assert.Equal(0, server.Sweep(afterMs: server.PastGraceMs * 10));
        await ann.ExpectNothingAsync();
    }

    [Fact]
    public async Task Resume_AfterOthersCameAndWent_ListsThePeersNowAndKeepsTheirJoinsAndLeaves()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);

        await using SignalTestClient cy = await server.JoinAsync("room", "Cy");
        await ann.ExpectAsync("peer-joined");
        await ann.SendAsync("""{"type":"leave"}""");
        await cy.ExpectAsync("peer-left");

        await using SignalTestClient bobAgain = await server.ConnectAsync();
        ServerMessage joined = await bobAgain.ResumeAsync(bob.ResumeToken);

        Assert.Equal(cy.Id, Assert.Single(joined.Get("peers").EnumerateArray()).GetProperty("id").GetString());
        Assert.Equal(cy.Id, (await bobAgain.ExpectAsync("peer-joined")).Get("peer").GetProperty("id").GetString());
        Assert.Equal(ann.Id, (await bobAgain.ExpectAsync("peer-left")).Str("id"));
        await bobAgain.ExpectNothingAsync();
        await cy.ExpectNothingAsync();
    }

    [Fact]
    public async Task Resume_AfterTheWindow_ReturnsResumeFailed()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);
        Assert.Equal(1, server.Sweep(afterMs: server.PastGraceMs));
        await ann.ExpectAsync("peer-left");

        await using SignalTestClient bobAgain = await server.ConnectAsync();
        await bobAgain.SendAsync(JsonSerializer.Serialize(new { type = "join", resume = bob.ResumeToken, id = "r1" }));

        Assert.Equal("r1", (await bobAgain.ExpectErrorAsync(SignalError.ResumeFailed)).Str("id"));
        ServerMessage fresh = await bobAgain.JoinAsync("room");
        Assert.NotEqual(bob.Id, fresh.Str("id"));
        Assert.False(fresh.Get("resumed").GetBoolean());
    }

    [Fact]
    public async Task Resume_WithAnUnknownToken_ReturnsResumeFailed()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.ConnectAsync();

        await ann.SendAsync("""{"type":"join","resume":"bm90LWEtdG9rZW4tYXQtYWxs"}""");

        await ann.ExpectErrorAsync(SignalError.ResumeFailed);
        await ann.JoinAsync("room");
    }

    [Fact]
    public async Task Resume_KeepsOnlyTheNewestMessagesUpToTheQueueLength()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options with { ResumeQueueLength = 3 });
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");
        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);

        for (int i = 1; i <= 7; i++)
        {
            await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":{{i}}}""");
        }

        await ann.ExpectNothingAsync();
        await using SignalTestClient bobAgain = await server.ConnectAsync();
        await bobAgain.ResumeAsync(bob.ResumeToken);

        Assert.Equal("5", (await bobAgain.ExpectAsync("message")).DataText);
        Assert.Equal("6", (await bobAgain.ExpectAsync("message")).DataText);
        Assert.Equal("7", (await bobAgain.ExpectAsync("message")).DataText);
        await bobAgain.ExpectNothingAsync();
    }

    [Fact]
    public async Task Resume_WhileTheOldConnectionIsStillOpen_TakesOverAndClosesTheOld()
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await using SignalTestClient bobAgain = await server.ConnectAsync();
        ServerMessage joined = await bobAgain.ResumeAsync(bob.ResumeToken);

        Assert.Equal(bob.Id, joined.Str("id"));
        await bob.Ended.WaitAsync(SignalTestServer.Timeout);
        await ann.SendAsync($$"""{"type":"message","to":"{{bob.Id}}","data":"to the new one"}""");
        Assert.Equal("\"to the new one\"", (await bobAgain.ExpectAsync("message")).DataText);
        await ann.ExpectNothingAsync();
        Assert.Equal(0, server.Sweep(afterMs: server.PastGraceMs));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(120)]
    [InlineData(400)]
    public async Task Close_OnAHostUpForDays_KeepsTheSeatForTheGraceWindow(int daysUp)
    {
        // The daemon sweeps with RelayClock.NowMs over the same TimeProvider the connection uses.
        var time = new ShiftedTimeProvider(TimeSpan.FromDays(daysUp));
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options, time);
        await using SignalTestClient ann = await server.JoinAsync("room");
        await using SignalTestClient bob = await server.JoinAsync("room");
        await ann.ExpectAsync("peer-joined");

        await bob.CloseAsync();
        await server.WaitUntilAwayAsync("room", bob.Id);

        int early = server.Hub.Sweep(SignalTestServer.DaemonNowMs(time));
        await ann.ExpectNothingAsync();
        Assert.True(early == 0, $"with the host up {daysUp} days, the sweep right after the drop ended the seat");
        Assert.Equal(1, server.Hub.Sweep(SignalTestServer.DaemonNowMs(time) + server.PastGraceMs));
        Assert.Equal(bob.Id, (await ann.ExpectAsync("peer-left")).Str("id"));
    }

    [Fact]
    public async Task Resume_RacingTheSweep_EitherFailsOrKeepsTheSeat()
    {
        const int peers = 150;
        const int rounds = 5;
        // Every client is 127.0.0.1 here: the per-address limits make room for all of them.
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options with
        {
            MaxPeersPerRoom = peers + 1,
            ResumeQueueLength = 200,
            MaxConnectionsPerAddress = 1000,
            MaxPeersPerAddress = 1000,
            MaxPeersPerRoomPerAddress = 1000,
            JoinsPerSecond = 0,
            CredentialsPerMinute = 0,
        });
        for (int round = 0; round < rounds; round++)
        {
            await RaceResumesAgainstTheSweepAsync(server, $"room-{round}", peers);
        }
    }

    /// <summary>
    /// Drops <paramref name="peers"/> peers of a room and, while their resumes are being handled,
    /// runs the sweep past their grace window. Each must then either get resume-failed (and the
    /// others peer-left), or get joined and keep its seat.
    /// </summary>
    private static async Task RaceResumesAgainstTheSweepAsync(SignalTestServer server, string room, int peers)
    {
        await using SignalTestClient watcher = await server.JoinAsync(room);
        var dropped = new List<SignalTestClient>();
        var again = new List<SignalTestClient>();
        try
        {
            for (int i = 0; i < peers; i++)
            {
                dropped.Add(await server.JoinAsync(room));
                again.Add(await server.ConnectAsync());
            }

            foreach (SignalTestClient peer in dropped)
            {
                peer.Socket.Abort();
            }

            foreach (SignalTestClient peer in dropped)
            {
                await server.WaitUntilAwayAsync(room, peer.Id);
            }

            Task resuming = Task.Run(async () =>
            {
                for (int i = 0; i < peers; i++)
                {
                    await again[i].SendAsync(JsonSerializer.Serialize(new { type = "join", resume = dropped[i].ResumeToken }));
                }
            });

            // Sweep as soon as the server has handled a third of them, while the rest are on their way.
            string marker = dropped[peers / 3].Id;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (server.Peer(room, marker) is not { Connected: true })
            {
                Assert.True(clock.Elapsed < SignalTestServer.Timeout, "the resumes were not handled in time");
                Thread.Yield();
            }

            server.Sweep(afterMs: server.PastGraceMs);
            await resuming.WaitAsync(SignalTestServer.Timeout);

            IReadOnlyList<ServerMessage> seen = await watcher.SyncAsync();
            var left = seen.Where(m => m.Type == "peer-left").Select(m => m.Str("id")).ToHashSet();
            var ghosts = new List<string>();
            int resumed = 0;
            for (int i = 0; i < peers; i++)
            {
                ServerMessage answer = await again[i].NextAsync("joined or resume-failed");
                if (answer.Type == "joined")
                {
                    resumed++;
                    if (server.Peer(room, dropped[i].Id) is null || left.Contains(dropped[i].Id))
                    {
                        ghosts.Add(dropped[i].Id);
                    }
                }
                else
                {
                    Assert.True(answer.Type == "error" && answer.Str("code") == SignalError.ResumeFailed, answer.Raw);
                    Assert.Contains(dropped[i].Id, left);
                }
            }

            Assert.True(ghosts.Count == 0, $"{room}: {ghosts.Count} of {peers} peers ({resumed} resumed) got \"joined\" with \"resumed\": true, but the sweep then ended their seat (the others got peer-left and the room no longer lists them): {string.Join(", ", ghosts)}");
        }
        finally
        {
            foreach (SignalTestClient client in dropped.Concat(again))
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Resume_WhileAPeerKeepsSending_JoinedComesFirstThenEveryMessageInOrder()
    {
        const int cycles = 30;
        const int readPerCycle = 200;
        await using SignalTestServer server = await SignalTestServer.StartAsync(Options with
        {
            MessagesPerSecond = 0, // no limit
            JoinsPerSecond = 0,
            CredentialsPerMinute = 0,
            ResumeQueueLength = 100,
            SendQueueLength = 100_000,
        });
        await using SignalTestClient ann = await server.JoinAsync("room");
        SignalTestClient bob = await server.JoinAsync("room");
        var connections = new List<SignalTestClient> { bob };
        await ann.ExpectAsync("peer-joined");
        string bobId = bob.Id;
        string resumeToken = bob.ResumeToken;
        using var stop = new CancellationTokenSource();
        Task sending = Task.Run(async () =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                await ann.SendAsync($$"""{"type":"message","to":"{{bobId}}","data":{{i}}}""");
            }
        });

        try
        {
            // Each round: drop, let messages pile up for the away peer, resume while they keep coming.
            // On the new connection "joined" must come first, then the kept messages and the live
            // ones without a gap or a swap.
            for (int cycle = 0; cycle < cycles; cycle++)
            {
                connections[^1].Socket.Abort();
                await server.WaitUntilAwayAsync("room", bobId);
                await Task.Delay(5);
                SignalTestClient again = await server.ConnectAsync();
                connections.Add(again);
                await again.SendAsync(JsonSerializer.Serialize(new { type = "join", resume = resumeToken }));

                ServerMessage first = await again.NextAsync("joined");
                Assert.True(first.Type == "joined", $"round {cycle}: the first message after the resume was {first.Raw}, not \"joined\"");
                int previous = -1;
                for (int n = 0; n < readPerCycle; n++)
                {
                    ServerMessage message = await again.NextAsync($"message {n} of round {cycle}");
                    Assert.True(message.Type == "message", $"round {cycle}: {message.Raw}");
                    int got = int.Parse(message.DataText, System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(previous < 0 || got == previous + 1, $"round {cycle}: after the resume, message {got} came right after {previous}");
                    previous = got;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await sending.WaitAsync(SignalTestServer.Timeout);
            foreach (SignalTestClient connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
