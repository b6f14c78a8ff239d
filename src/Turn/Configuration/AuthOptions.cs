namespace Turn.Configuration;

internal sealed record AuthOptions
{
    /// <summary>REALM of the long-term credentials (RFC 8489 §9.2).</summary>
    public string Realm { get; init; } = "turn";

    /// <summary>Static users, "name:password".</summary>
    public IReadOnlyDictionary<string, string> Users { get; init; } = new Dictionary<string, string>();

    /// <summary>TURN REST shared secrets, as coturn's static-auth-secret; all are accepted, so one can be rotated in.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>True when <see cref="Secrets"/> holds only the secret <see cref="LocalDefault"/> generated because none was configured.</summary>
    public bool SecretGenerated { get; init; }

    /// <summary>How long a nonce is good for before the client gets 438 and a fresh one.</summary>
    public int NonceLifetimeSeconds { get; init; } = 600;

    /// <summary>
    /// Bytes per second the server may send one UDP source address (an IPv6 /64) in answers that need no
    /// credentials: Binding responses, 401/438 challenges and other unsigned errors. A source over it
    /// gets no answer, and its requests are dropped before any HMAC is computed. 0: no budget.
    /// </summary>
    public int UnauthenticatedBytesPerSecond { get; init; } = 16384;
}
