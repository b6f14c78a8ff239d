using System.Buffers.Binary;
using System.Security.Cryptography;
using Turn.Auth;
using Turn.Wire;

namespace Turn.Tests.Server;

/// <summary>Builds the requests, indications and ChannelData a TURN client sends, signed as RFC 8489 §9.2.3 says.</summary>
internal static class TurnMessages
{
    private const int BufferLength = 2048;

    public static byte[] TransactionId() => RandomNumberGenerator.GetBytes(StunHeader.TransactionIdLength);

    /// <summary>A message without credentials, with FINGERPRINT.</summary>
    public static byte[] Unsigned(StunMethod method, StunClass messageClass, byte[] transactionId, TurnAttributeWriter? attributes)
    {
        byte[] buffer = new byte[BufferLength];
        var writer = StunWriter.Create(buffer, method, messageClass, transactionId);
        attributes?.Invoke(ref writer);
        writer.AddFingerprint();
        return buffer.AsSpan(0, writer.Length).ToArray();
    }

    /// <summary>
    /// A request signed with the long-term key: its attributes, USERNAME (or USERHASH), REALM and
    /// NONCE from the challenge, with SHA-256 the offered PASSWORD-ALGORITHMS echoed and the chosen
    /// PASSWORD-ALGORITHM, then MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT.
    /// </summary>
    public static byte[] Signed(StunMethod method, byte[] transactionId, TurnAttributeWriter? attributes, TurnCredentials credentials, TurnChallenge challenge, TurnOmit omit = TurnOmit.None)
    {
        byte[] buffer = new byte[BufferLength];
        var writer = StunWriter.Create(buffer, method, StunClass.Request, transactionId);
        attributes?.Invoke(ref writer);
        if ((omit & TurnOmit.Username) == 0)
        {
            if (credentials.UserHash)
            {
                writer.AddBytes(StunAttributeType.UserHash, LongTermKey.UserHash(credentials.Username, challenge.Realm));
            }
            else
            {
                writer.AddText(StunAttributeType.Username, credentials.Username);
            }
        }

        if ((omit & TurnOmit.Realm) == 0)
        {
            writer.AddText(StunAttributeType.Realm, challenge.Realm);
        }

        if ((omit & TurnOmit.Nonce) == 0)
        {
            writer.AddBytes(StunAttributeType.Nonce, challenge.Nonce);
        }

        if (credentials.SendsAlgorithms)
        {
            writer.AddBytes(StunAttributeType.PasswordAlgorithms, challenge.PasswordAlgorithms);
            Span<byte> choice = writer.Reserve(StunAttributeType.PasswordAlgorithm, 4);
            BinaryPrimitives.WriteUInt16BigEndian(choice, credentials.Algorithm);
            BinaryPrimitives.WriteUInt16BigEndian(choice[2..], 0);
        }

        byte[] key = credentials.Key(challenge.Realm);
        if (credentials.Algorithm == PasswordAlgorithm.Sha256)
        {
            writer.AddMessageIntegritySha256(key);
        }
        else
        {
            writer.AddMessageIntegrity(key);
        }

        writer.AddFingerprint();
        return buffer.AsSpan(0, writer.Length).ToArray();
    }

    /// <summary>RFC 8656 §11.1: a Send indication carrying XOR-PEER-ADDRESS and DATA.</summary>
    public static byte[] SendIndication(StunAddress peer, byte[] data)
        => Unsigned(StunMethod.Send, StunClass.Indication, TransactionId(), (ref StunWriter w) =>
        {
            w.AddXorAddress(StunAttributeType.XorPeerAddress, peer);
            w.AddBytes(StunAttributeType.Data, data);
        });

    /// <summary>RFC 8656 §12.4: a ChannelData message (unpadded, as UDP allows).</summary>
    public static byte[] ChannelData(ushort channel, byte[] data)
    {
        byte[] packet = new byte[global::Turn.Wire.ChannelData.HeaderLength + data.Length];
        global::Turn.Wire.ChannelData.WriteHeader(packet, channel, data.Length);
        data.CopyTo(packet, global::Turn.Wire.ChannelData.HeaderLength);
        return packet;
    }

    /// <summary>REQUESTED-TRANSPORT: UDP, which every Allocate carries.</summary>
    public static void RequestedTransportUdp(ref StunWriter writer)
        => writer.AddByteReserved(StunAttributeType.RequestedTransport, TurnAttributes.ProtocolUdp);
}
