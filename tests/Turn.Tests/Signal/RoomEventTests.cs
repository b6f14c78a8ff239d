using Turn.Signal.Backplane;
using Xunit;

namespace Turn.Tests.Signal;

/// <summary>The backplane's room event codec, without Redis: what is encoded decodes the same, and a cut or foreign event decodes to false.</summary>
public sealed class RoomEventTests
{
    [Fact]
    public void AnEvent_DecodesAsItWasEncoded_WithAndWithoutItsOptionalFields()
    {
        var joined = new RoomEvent(RoomEventKind.Joined, "node-a", "peer-1", "Zoë", """{"color":"red"}"""u8.ToArray(), default);
        var to = new RoomEvent(RoomEventKind.To, "node-b", "peer-2", null, null, """{"type":"message","data":"é"}"""u8.ToArray());
        foreach (RoomEvent sent in new[] { joined, to })
        {
            Assert.True(RoomEvent.TryDecode(sent.Encode(), out RoomEvent got));
            Assert.Equal((sent.Kind, sent.Node, sent.Id, sent.Name), (got.Kind, got.Node, got.Id, got.Name));
            Assert.Equal(sent.Meta, got.Meta);
            Assert.Equal(sent.Message.ToArray(), got.Message.ToArray());
        }
    }

    [Fact]
    public void ACutOrForeignEvent_DecodesToFalse()
    {
        byte[] bytes = new RoomEvent(RoomEventKind.Joined, "node-a", "peer-1", "Ann", "{}"u8.ToArray(), default).Encode();

        // Every cut before the last field ends is malformed (a Joined event carries no message).
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.False(RoomEvent.TryDecode(bytes.AsMemory(0, length), out _), $"cut at {length}");
        }

        Assert.False(RoomEvent.TryDecode((byte[])[(byte)'X', .. bytes.AsSpan(1)], out _));
    }
}
