"""One view that makes several queries, so a profile of it holds Django's ORM."""
from django.db.models import Sum
from django.http import JsonResponse

from shop.models import Item


def items(request):
    if not Item.objects.exists():
        Item.objects.bulk_create(Item(name="item %d" % i, price=i * 3) for i in range(50))
    cheap = list(Item.objects.filter(price__lt=60).order_by("-price").values_list("name", flat=True))
    total = Item.objects.aggregate(total=Sum("price"))["total"]
    first = Item.objects.get(name="item 1")
    count = Item.objects.filter(name__startswith="item 1").count()
    return JsonResponse({"cheap": cheap, "total": total, "first": first.price, "count": count})
