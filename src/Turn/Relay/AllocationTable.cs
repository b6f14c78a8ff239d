using System.Collections.Concurrent;
using Turn.Wire;

namespace Turn.Relay;

/// <summary>
/// Every allocation by its five-tuple, looked up without a lock on the packet path, plus the
/// per-user counts the quotas need.
/// </summary>
internal sealed class AllocationTable(IAllocationEvents? events = null)
{
    private readonly ConcurrentDictionary<FiveTuple, Allocation> _byFiveTuple = new();
    private readonly ConcurrentDictionary<StunAddress, Allocation> _byRelayAddress = new();
    private readonly Dictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly Dictionary<UInt128, int> _perAddress = [];
    private readonly Lock _quotaLock = new();

    public int Count => _byFiveTuple.Count;

    public ICollection<Allocation> All => _byFiveTuple.Values;

    public bool TryGet(in FiveTuple fiveTuple, out Allocation allocation)
        => _byFiveTuple.TryGetValue(fiveTuple, out allocation!);

    /// <summary>Whether <paramref name="address"/> is the relayed transport address of a live allocation here.</summary>
    public bool IsRelayedAddress(StunAddress address) => _byRelayAddress.ContainsKey(address);

    /// <summary>
    /// Reserves a place for a new allocation of a user from a client address; the answer says which
    /// quota refused it. <paramref name="perAddress"/> false (a static user): the address quota does not apply.
    /// </summary>
    public QuotaResult TryReserve(string username, StunAddress client, RelayLimits limits, bool perAddress = true)
    {
        UInt128 address = AddressKey(client, perAddress);
        lock (_quotaLock)
        {
            if (_byFiveTuple.Count + Pending >= limits.MaxAllocations)
            {
                return QuotaResult.ServerFull;
            }

            _perUser.TryGetValue(username, out int count);
            if (count >= limits.MaxAllocationsPerUser)
            {
                return QuotaResult.UserFull;
            }

            _perAddress.TryGetValue(address, out int fromAddress);
            if (perAddress && fromAddress >= limits.MaxAllocationsPerAddress)
            {
                return QuotaResult.AddressFull;
            }

            _perUser[username] = count + 1;
            _perAddress[address] = fromAddress + 1;
            Pending++;
            return QuotaResult.Reserved;
        }
    }

    /// <summary>
    /// Turns a reservation into an entry and opens the allocation's relay sockets for data, or
    /// gives the reservation back when <paramref name="allocation"/> is null (or its five-tuple
    /// was taken meanwhile, and then its sockets are closed).
    /// </summary>
    public void Complete(string username, StunAddress client, Allocation? allocation, bool perAddress = true)
    {
        bool added;
        lock (_quotaLock)
        {
            Pending--;
            added = allocation is not null && _byFiveTuple.TryAdd(allocation.FiveTuple, allocation);
            if (!added)
            {
                Release(username, client, perAddress);
            }
            else
            {
                IndexRelays(allocation!, add: true);
            }
        }

        if (!added)
        {
            allocation?.Close();
            return;
        }

        allocation!.Open();
        events?.Created(allocation);
    }

    /// <summary>Forgets the allocation and closes its sockets; false when it was already gone.</summary>
    public bool Remove(Allocation allocation, AllocationEnd reason, long nowMs)
    {
        if (!_byFiveTuple.TryRemove(new KeyValuePair<FiveTuple, Allocation>(allocation.FiveTuple, allocation)))
        {
            return false;
        }

        lock (_quotaLock)
        {
            Release(allocation.Username, allocation.FiveTuple.Client, allocation.CountsAgainstAddress);
        }

        IndexRelays(allocation, add: false);
        allocation.Close();
        events?.Ended(allocation, reason, nowMs);
        return true;
    }

    private int Pending { get; set; }

    private void IndexRelays(Allocation allocation, bool add)
    {
        IndexRelay(allocation, allocation.Relay4, add);
        IndexRelay(allocation, allocation.Relay6, add);
    }

    private void IndexRelay(Allocation allocation, IRelayEndpoint? relay, bool add)
    {
        if (relay is null)
        {
            return;
        }

        if (add)
        {
            _byRelayAddress[relay.Local] = allocation;
        }
        else
        {
            _byRelayAddress.TryRemove(new KeyValuePair<StunAddress, Allocation>(relay.Local, allocation));
        }
    }

    private void Release(string username, StunAddress client, bool perAddress)
    {
        Decrement(_perUser, username);
        Decrement(_perAddress, AddressKey(client, perAddress));
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        if (counts.TryGetValue(key, out int count))
        {
            if (count <= 1)
            {
                counts.Remove(key);
            }
            else
            {
                counts[key] = count - 1;
            }
        }
    }

    /// <summary>A client counts by its IPv4 address (an IPv4-mapped one as itself) or its IPv6 /64; uncounted ones share a key no address has.</summary>
    private static UInt128 AddressKey(StunAddress client, bool perAddress)
    {
        if (!perAddress)
        {
            return UInt128.MaxValue;
        }

        if (AddressCanonicalizer.IsIPv4Mapped(client))
        {
            client = AddressCanonicalizer.Canonicalize(client);
        }

        return client.IsIPv4 ? new UInt128(1, (ulong)client.Address) : client.Address & new UInt128(ulong.MaxValue, 0);
    }
}
