using System.Text.Json;
using Turn.Signal;

namespace Turn.Fuzz;

/// <summary>
/// One WebSocket text message to <see cref="ClientMessage.TryParse"/>. Whatever the bytes, the
/// parser answers true or false with a reason; what it accepts has "data" and "meta" that are each
/// one whole JSON value, since they are relayed verbatim (docs/signaling.md, Messages).
/// </summary>
internal static class SignalTarget
{
    public static void Run(ReadOnlySpan<byte> utf8)
    {
        if (!ClientMessage.TryParse(utf8, out ClientMessage message, out string problem))
        {
            Invariant.Holds(problem.Length > 0, "a refused message says why");
            return;
        }

        CheckRaw(message.Data);
        CheckRaw(message.Meta);
        _ = message.ToString();
    }

    private static void CheckRaw(ReadOnlySpan<byte> json)
    {
        if (json.IsEmpty)
        {
            return;
        }

        var reader = new Utf8JsonReader(json);
        Invariant.Holds(reader.Read(), "a relayed value is JSON");
        reader.Skip();
        Invariant.Holds(reader.BytesConsumed == json.Length && !reader.Read(), "a relayed value is one whole JSON value");
    }
}
