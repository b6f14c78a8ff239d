using System.Net;

namespace Turn.Configuration;

internal sealed record Rfc5780Options
{
    /// <summary>The second address of RFC 5780 §4; NAT behaviour discovery is on when it is set.</summary>
    public IPAddress? AlternateAddress { get; init; }

    public int AlternatePort { get; init; } = 3479;
}
