using System.Buffers.Binary;
using System.Net;
using Turn.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Turn.Tests.Wire;

/// <summary>
/// Random datagrams and mutated vectors, from a fixed seed, through the parser and every
/// typed reader: wire input is answered with a status, never an exception (RFC 8489 §6.3).
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Iterations = 50_000;
    private const int Seed = 5769;

    private static readonly StunAttributeType[] KnownTypes = Enum.GetValues<StunAttributeType>();
    private static readonly byte[] Key = [0x4B, 0x65, 0x79];
    private static readonly byte[] TransactionId = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    [Fact]
    public void RandomAndMutatedDatagrams_NeverThrow()
    {
        var random = new Random(Seed);
        List<byte[]> seeds = Seeds();
        byte[] buffer = new byte[4096];
        var outcomes = new int[Enum.GetValues<StunParseStatus>().Length];
        int attributesRead = 0;

        for (int i = 0; i < Iterations; i++)
        {
            int length = (i % 8) switch
            {
                0 => RandomBytes(random, buffer),
                1 => RandomStunStructure(random, buffer),
                7 => RandomChannelData(random, buffer),
                _ => Mutate(random, seeds[random.Next(seeds.Count)], buffer),
            };

            ReadOnlySpan<byte> input = buffer.AsSpan(0, length);
            try
            {
                StunParseStatus status = Exercise(input, ref attributesRead, verifyIntegrity: i % 4 == 0);
                outcomes[(int)status]++;
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                Assert.Fail($"iteration {i} threw on {Convert.ToHexString(input)}: {ex}");
            }
        }

        foreach (StunParseStatus status in Enum.GetValues<StunParseStatus>())
        {
            output.WriteLine($"{status}: {outcomes[(int)status]}");
        }

        output.WriteLine($"attributes read: {attributesRead}");

        // The run must reach deep, not stop at the header check.
        Assert.True(outcomes[(int)StunParseStatus.Ok] > Iterations / 8, $"only {outcomes[(int)StunParseStatus.Ok]} parsed");
        Assert.True(attributesRead > Iterations, $"only {attributesRead} attributes read");
        foreach (StunParseStatus status in Enum.GetValues<StunParseStatus>())
        {
            Assert.True(outcomes[(int)status] > 0, $"no input ended as {status}");
        }
    }

    [Fact]
    public void TypedReaders_OnEverySliceOfEveryVector_NeverThrow()
    {
        // Among the slices are the vectors' own attribute values, which the readers must still
        // decode: readers that turned every input down would never throw either.
        var decoded = new HashSet<IPEndPoint>();
        Span<byte> cookieAndId = stackalloc byte[16];
        foreach (string name in Vectors.All)
        {
            byte[] bytes = Vectors.Load(name);
            bytes.AsSpan(4, 16).CopyTo(cookieAndId);
            for (int start = 0; start <= bytes.Length; start++)
            {
                for (int end = start; end <= bytes.Length; end++)
                {
                    ReadOnlySpan<byte> slice = bytes.AsSpan(start, end - start);
                    ReadAll(slice, cookieAndId);
                    if (AddressAttribute.TryReadXor(slice, cookieAndId, out StunAddress address))
                    {
                        decoded.Add(address.ToIPEndPoint());
                    }
                }
            }
        }

        // RFC 5769 §2.2 and §2.3: the XOR-MAPPED-ADDRESS of each response.
        Assert.Contains(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 32853), decoded);
        Assert.Contains(new IPEndPoint(IPAddress.Parse("2001:db8:1234:5678:11:2233:4455:6677"), 32853), decoded);
    }

    private static StunParseStatus Exercise(ReadOnlySpan<byte> input, ref int attributesRead, bool verifyIntegrity)
    {
        PacketClassifier.Classify(input);
        if (StreamFraming.TryGetFrame(input, out int frameLength, out _) == FrameStatus.Complete)
        {
            Assert.InRange(frameLength, 4, input.Length);
        }

        if (ChannelData.TryParse(input, out ushort channel, out ReadOnlySpan<byte> data))
        {
            Assert.InRange(channel, TurnAttributes.MinChannel, TurnAttributes.MaxChannel);
            Assert.True(data.Length <= input.Length - ChannelData.HeaderLength);
        }

        StunParseStatus status = StunMessage.TryParse(input, out StunMessage message);
        if (status != StunParseStatus.Ok)
        {
            return status;
        }

        _ = message.Method;
        _ = message.Class;
        _ = message.HasMagicCookie;
        Assert.Equal(12, message.TransactionId.Length);
        ReadOnlySpan<byte> cookieAndId = message.CookieAndTransactionId;
        foreach (StunAttribute attribute in message.Attributes)
        {
            Assert.InRange(attribute.Offset, StunHeader.Length, input.Length - 4);
            ReadAll(attribute.Value, cookieAndId);
            attributesRead++;
        }

        TextAttribute.TryRead(message, StunAttributeType.Username, out _);
        TextAttribute.TryRead(message, StunAttributeType.Realm, out _);
        Span<ushort> unknown = stackalloc ushort[8];
        Assert.InRange(message.CollectUnknownRequired(static type => type < 0x0010, unknown), 0, unknown.Length);
        if (verifyIntegrity)
        {
            MessageIntegrity.Verify(message.Raw, message.IntegrityOffset, sha256: false, Key);
            MessageIntegrity.Verify(message.Raw, message.IntegritySha256Offset, sha256: true, Key);
        }

        return status;
    }

    private static void ReadAll(ReadOnlySpan<byte> value, ReadOnlySpan<byte> cookieAndId)
    {
        AddressAttribute.TryRead(value, out _);
        AddressAttribute.TryReadXor(value, cookieAndId, out _);
        if (value.Length > 1)
        {
            AddressAttribute.FamilyFromCode(value[1]);
        }

        ErrorCodeAttribute.TryRead(value, out _, out _);
        ErrorCodeAttribute.TryReadAddressError(value, out _, out _, out _);
        TextAttribute.IsValid(value, TextAttribute.MaxUsernameBytes);
        TextAttribute.IsValid(value, TextAttribute.MaxTextBytes);
        TextAttribute.IsValid(value, TextAttribute.MaxDomainBytes);
        TurnAttributes.TryReadChannelNumber(value, out _);
        TurnAttributes.TryReadLifetime(value, out _);
        TurnAttributes.TryReadRequestedTransport(value, out _);
        TurnAttributes.TryReadAddressFamily(value, out _);
        TurnAttributes.TryReadEvenPort(value, out _);
        TurnAttributes.TryReadReservationToken(value, out _);
        TurnAttributes.IsValidDontFragment(value);
        TurnAttributes.TryReadIcmp(value, out _, out _, out _);
        TurnAttributes.TryReadConnectionId(value, out _);
        NatBehaviorAttributes.TryReadChangeRequest(value, out _, out _);
        NatBehaviorAttributes.TryReadResponsePort(value, out _);
        PasswordAlgorithm.TryRead(value, out _);
        Span<ushort> list = stackalloc ushort[4];
        if (PasswordAlgorithm.TryReadList(value, list, out int algorithms))
        {
            Assert.InRange(algorithms, 0, list.Length);
        }

        if (UnknownAttributes.TryRead(value, list, out int unknown))
        {
            Assert.InRange(unknown, 0, list.Length);
        }

        _ = ChannelData.TryParse(value, out _, out _);
        StreamFraming.TryGetFrame(value, out _, out _);
    }

    private static int RandomBytes(Random random, byte[] buffer)
    {
        int length = random.Next(0, 200);
        random.NextBytes(buffer.AsSpan(0, length));
        if (length > 0 && random.Next(2) == 0)
        {
            buffer[0] &= 0x3F;
        }

        return length;
    }

    private static int RandomChannelData(Random random, byte[] buffer)
    {
        int length = random.Next(0, 120);
        random.NextBytes(buffer.AsSpan(0, length));
        if (length > 0)
        {
            buffer[0] = (byte)(0x40 | (buffer[0] & (random.Next(2) == 0 ? 0x0F : 0x3F)));
        }

        if (length > 3 && random.Next(2) == 0)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)random.Next(0, length));
        }

        return length;
    }

    /// <summary>A well-framed message of random attributes, known types with random values, often with a right FINGERPRINT.</summary>
    private static int RandomStunStructure(Random random, byte[] buffer)
    {
        buffer[0] = (byte)random.Next(0, 0x40);
        buffer[1] = (byte)random.Next(0, 0x100);
        if (random.Next(8) != 0)
        {
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(4), StunHeader.MagicCookie);
            random.NextBytes(buffer.AsSpan(8, 12));
        }
        else
        {
            random.NextBytes(buffer.AsSpan(4, 16));
        }

        int offset = StunHeader.Length;
        int count = random.Next(0, 10);
        for (int a = 0; a < count; a++)
        {
            ushort type = random.Next(6) == 0 ? (ushort)random.Next(0, 0x10000) : (ushort)KnownTypes[random.Next(KnownTypes.Length)];
            int valueLength = random.Next(4) switch
            {
                0 => random.Next(0, 9),
                1 => 4,
                2 => 20,
                _ => random.Next(0, 64),
            };
            if (type is (ushort)StunAttributeType.MessageIntegrity && random.Next(2) == 0)
            {
                valueLength = MessageIntegrity.Sha1Length;
            }

            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), type);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), (ushort)valueLength);
            random.NextBytes(buffer.AsSpan(offset + 4, Padding.Pad4(valueLength)));
            if (random.Next(3) == 0 && valueLength >= 2)
            {
                buffer[offset + 4] = 0;
                buffer[offset + 5] = (byte)random.Next(0, 3);
            }

            offset += 4 + Padding.Pad4(valueLength);
        }

        bool fingerprint = random.Next(2) == 0;
        StunHeader.WriteLength(buffer, offset - StunHeader.Length + (fingerprint ? 8 : 0));
        if (fingerprint)
        {
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset), (ushort)StunAttributeType.Fingerprint);
            BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(offset + 2), 4);
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(offset + 4), Fingerprint.Compute(buffer.AsSpan(0, offset)));
            offset += 8;
        }

        return offset;
    }

    private static int Mutate(Random random, byte[] seed, byte[] buffer)
    {
        seed.CopyTo(buffer, 0);
        int length = seed.Length;
        int mutations = random.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            int at = length == 0 ? 0 : random.Next(length);
            switch (random.Next(8))
            {
                case 0 when length > 0:
                    buffer[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when length > 0:
                    buffer[at] = random.Next(4) switch
                    {
                        0 => 0x00,
                        1 => 0xFF,
                        2 => 0x80,
                        _ => (byte)random.Next(0x100),
                    };
                    break;
                case 2 when length >= 4:
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(2), (ushort)(random.Next(2) == 0 ? random.Next(0, 0x10000) : random.Next(0, length)));
                    break;
                case 3 when length >= 24:
                    // An attribute length: attribute headers sit on four-byte boundaries.
                    int header = StunHeader.Length + (4 * random.Next((length - StunHeader.Length) / 4));
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(header + 2), (ushort)random.Next(0, 80));
                    break;
                case 4:
                    length = random.Next(0, length + 1);
                    break;
                case 5:
                    int extra = random.Next(1, 64);
                    random.NextBytes(buffer.AsSpan(length, extra));
                    length += extra;
                    break;
                case 6 when length >= 24:
                    // An attribute type, often a known one.
                    int typeAt = StunHeader.Length + (4 * random.Next((length - StunHeader.Length) / 4));
                    BinaryPrimitives.WriteUInt16BigEndian(buffer.AsSpan(typeAt), (ushort)KnownTypes[random.Next(KnownTypes.Length)]);
                    break;
                default:
                    length &= ~3;
                    break;
            }
        }

        // Often make the header agree again, so the attributes themselves get looked at.
        if (length >= StunHeader.Length && (length & 3) == 0 && random.Next(2) == 0)
        {
            StunHeader.WriteLength(buffer, length - StunHeader.Length);
            if (length >= 28 && BinaryPrimitives.ReadUInt32BigEndian(buffer.AsSpan(length - 8)) == 0x80280004u)
            {
                BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(length - 4), Fingerprint.Compute(buffer.AsSpan(0, length - 8)));
            }
        }

        return length;
    }

    private static List<byte[]> Seeds()
    {
        var seeds = new List<byte[]>();
        foreach (string name in Vectors.All)
        {
            seeds.Add(Vectors.Load(name));
        }

        byte[] buffer = new byte[1024];
        var allocate = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.Request, TransactionId);
        allocate.AddByteReserved(StunAttributeType.RequestedTransport, TurnAttributes.ProtocolUdp);
        allocate.AddUInt32(StunAttributeType.Lifetime, 600);
        allocate.AddBytes(StunAttributeType.EvenPort, [0x80]);
        allocate.AddEmpty(StunAttributeType.DontFragment);
        allocate.AddBytes(StunAttributeType.ReservationToken, [1, 2, 3, 4, 5, 6, 7, 8]);
        allocate.AddByteReserved(StunAttributeType.RequestedAddressFamily, AddressAttribute.FamilyIPv6);
        allocate.AddText(StunAttributeType.Username, "user");
        allocate.AddText(StunAttributeType.Realm, "example.org");
        allocate.AddText(StunAttributeType.Nonce, "nonce");
        Span<byte> algorithms = allocate.Reserve(StunAttributeType.PasswordAlgorithms, 8);
        PasswordAlgorithm.WriteList(algorithms, [PasswordAlgorithm.Sha256, PasswordAlgorithm.Md5]);
        allocate.AddUInt32(StunAttributeType.PasswordAlgorithm, 0x00020000);
        allocate.AddMessageIntegrity(Key);
        allocate.AddMessageIntegritySha256(Key);
        allocate.AddFingerprint();
        seeds.Add(allocate.Written.ToArray());

        var error = StunWriter.Create(buffer, StunMethod.Allocate, StunClass.ErrorResponse, TransactionId);
        error.AddErrorCode(420, "Unknown Attribute");
        error.AddUnknownAttributes([0x0031, 0x7000, 0x0002]);
        error.AddXorAddress(StunAttributeType.XorRelayedAddress, StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 3478)));
        Span<byte> icmp = error.Reserve(StunAttributeType.Icmp, 8);
        TurnAttributes.WriteIcmp(icmp, 3, 1, 1400);
        Span<byte> addressError = error.Reserve(StunAttributeType.AddressErrorCode, 4 + 20);
        ErrorCodeAttribute.Write(addressError, 440, "Address Family not Supported".AsSpan(0, 20), AddressAttribute.FamilyIPv6);
        error.AddFingerprint();
        seeds.Add(error.Written.ToArray());

        var binding = StunWriter.Create(buffer, StunMethod.Binding, StunClass.SuccessResponse, TransactionId);
        binding.AddUInt32(StunAttributeType.ChangeRequest, NatBehaviorAttributes.ChangeIpFlag | NatBehaviorAttributes.ChangePortFlag);
        binding.AddUInt16Reserved(StunAttributeType.ResponsePort, 5000);
        binding.AddBytes(StunAttributeType.Padding, new byte[12]);
        binding.AddAddress(StunAttributeType.OtherAddress, StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Loopback, 3479)));
        binding.AddAddress(StunAttributeType.ResponseOrigin, StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.IPv6Loopback, 3478)));
        binding.AddXorAddress(StunAttributeType.XorMappedAddress, StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("203.0.113.9"), 40000)));
        binding.AddText(StunAttributeType.AlternateDomain, "turn.example.org");
        binding.AddFingerprint();
        seeds.Add(binding.Written.ToArray());

        var channelBind = StunWriter.Create(buffer, StunMethod.ChannelBind, StunClass.Request, TransactionId);
        channelBind.AddUInt16Reserved(StunAttributeType.ChannelNumber, 0x4001);
        channelBind.AddXorAddress(StunAttributeType.XorPeerAddress, StunAddress.FromIPEndPoint(new IPEndPoint(IPAddress.Parse("198.51.100.7"), 6000)));
        channelBind.AddUInt32(StunAttributeType.ConnectionId, 0xDEADBEEF);
        channelBind.AddMessageIntegrity(Key);
        seeds.Add(channelBind.Written.ToArray());

        byte[] classic = [0x00, 0x01, 0x00, 0x0C, .. Convert.FromHexString("0123456789ABCDEF0123456789ABCDEF"), 0x00, 0x01, 0x00, 0x08, 0x00, 0x01, 0x0D, 0x96, 0xC0, 0x00, 0x02, 0x01];
        seeds.Add(classic);
        return seeds;
    }
}
