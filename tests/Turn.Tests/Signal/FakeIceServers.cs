using System.Collections.Concurrent;
using Turn.Signal;

namespace Turn.Tests.Signal;

/// <summary>
/// Hands out a STUN entry and a TURN entry whose credentials change on every call, so a test can
/// tell fresh iceServers from stale ones; remembers which peer ids asked.
/// </summary>
internal sealed class FakeIceServers : IIceServerProvider
{
    public const string StunUrl = "stun:127.0.0.1:3478";
    public const string TurnUdpUrl = "turn:127.0.0.1:3478?transport=udp";
    public const string TurnTcpUrl = "turn:127.0.0.1:3478?transport=tcp";

    private int _calls;

    public ConcurrentQueue<string> Requests { get; } = new();

    public static string UsernameOf(int call, string peerId) => $"{call}:{peerId}";

    public static string CredentialOf(int call) => $"credential-{call}";

    public IReadOnlyList<IceServer> GetIceServers(string peerId)
    {
        int call = Interlocked.Increment(ref _calls);
        Requests.Enqueue(peerId);
        return
        [
            new IceServer([StunUrl], null, null),
            new IceServer([TurnUdpUrl, TurnTcpUrl], UsernameOf(call, peerId), CredentialOf(call)),
        ];
    }
}
