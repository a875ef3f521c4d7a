total = 0
n = 7
for i in range(3):
    total += n
    if total > 12:
        n = n - 2
print(total)
print(n)
