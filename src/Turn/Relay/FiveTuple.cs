using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// RFC 8656 §2: the client's address, the server's address and the transport between them;
/// it names an allocation. For TCP and TLS it is the connection itself.
/// </summary>
internal readonly struct FiveTuple(TransportProtocol protocol, StunAddress client, StunAddress server) : IEquatable<FiveTuple>
{
    public TransportProtocol Protocol { get; } = protocol;

    public StunAddress Client { get; } = client;

    public StunAddress Server { get; } = server;

    public bool Equals(FiveTuple other) => Protocol == other.Protocol && Client == other.Client && Server == other.Server;

    public override bool Equals(object? obj) => obj is FiveTuple other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Protocol, Client, Server);

    public override string ToString() => $"{Protocol.ToString().ToLowerInvariant()} {Client} -> {Server}";

    public static bool operator ==(FiveTuple left, FiveTuple right) => left.Equals(right);

    public static bool operator !=(FiveTuple left, FiveTuple right) => !left.Equals(right);
}
