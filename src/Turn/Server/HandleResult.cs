namespace Turn.Server;

/// <summary>
/// A handler's answer: <paramref name="Length"/> bytes of response in the caller's buffer (0: send
/// nothing), the RFC 5780 role of the socket to send it from, and a destination port when
/// RESPONSE-PORT asked for one (0: the source port).
/// </summary>
internal readonly record struct HandleResult(Outcome Outcome, int Length, int ResponseRole, ushort ResponsePort)
{
    public static HandleResult Drop(Outcome outcome) => new(outcome, 0, -1, 0);
}
