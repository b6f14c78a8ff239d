using System.Net.WebSockets;
using System.Text.Unicode;
using Turn.Signal;
using Turn.Tests.Wire;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>
/// Client messages from fuzzing the signaling parser (tests/Fuzz, target "signal"), kept as hex
/// under Vectors/fuzz/signal/: those that once made ClientMessage.TryParse throw, and corpus
/// entries that reached new code. Each goes over a real WebSocket as one message, text when it is
/// UTF-8 and binary otherwise (the WebSocket layer closes a connection that sends a text frame that
/// is not UTF-8, RFC 6455 §8.1, so only a binary frame brings such bytes to the server); the server
/// must answer with a status of its own ("bad-json" and the like, never "internal-error", which
/// means the handling threw) and the connection must go on working.
/// </summary>
public sealed class SignalFuzzRegressionTests
{
    private const string Folder = "signal";

    public static TheoryData<string> Inputs => FuzzRegressionTests.Names(Folder);

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task FuzzedMessage_IsAnsweredWithoutAnInternalErrorAndTheConnectionStillWorks(string name)
    {
        await using SignalTestServer server = await SignalTestServer.StartAsync(new SignalOptions());
        await using SignalTestClient ann = await server.ConnectAsync();

        byte[] message = FuzzRegressionTests.Load(Folder, name);
        await ann.SendAsync(message, Utf8.IsValid(message) ? WebSocketMessageType.Text : WebSocketMessageType.Binary);

        // One answer, an error of the server's own: an input that went unanswered would pass a
        // check of every answer, and an exception in the handling shows as "internal-error".
        IReadOnlyList<ServerMessage> answers = await ann.SyncAsync();
        ServerMessage answer = Assert.Single(answers);
        Assert.True(answer.Type == "error" && answer.Has("code"), $"{name}: {answer.Raw}");
        Assert.NotEqual(SignalError.Internal, answer.Str("code"));
    }
}
